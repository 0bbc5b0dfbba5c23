"""Labeling: the requests sent to labelers and the label batches that came back.

Both are records of things that happened outside, so they are immutable: recording the same
request or batch again is a no-op (a sensor tick or an asset re-run), and recording different
content under an id already used is a `RecordConflictError`. A batch's content is where it
landed, what it holds and its verdict; a re-run of `label_sets` that publishes the same
content again (another merge commit on main) or rejects it in other words keeps the first
record as it is. One exception: a rejected batch never reached main, so fixed files landed
under its id replace its record, and the rejection is kept in `rejected_label_batches`.
The frames and boxes themselves
live in the store; these rows say when, how many, from whom and at which commits.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint
from sqlmodel import Field, Session, col, select

from resources.catalog import validate
from resources.catalog.base import CatalogModel, UTCDateTime, utcnow
from resources.catalog.database import Database, insert_ignore
from resources.catalog.errors import InvalidRecordError, RecordConflictError, UnknownRequestError


class RequestStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class BatchStatus(StrEnum):
    PUBLISHED = "published"
    REJECTED = "rejected"


class LabelRequest(CatalogModel, table=True):
    """Frames sent out for labeling, with how many came from each slice."""

    __tablename__ = "label_requests"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'answered')", name="ck_label_requests_status"),
    )

    request_id: str = Field(primary_key=True)
    frames: int
    slices: dict[str, int] = Field(sa_type=JSON)  # slice name -> frames requested from it
    status: str = RequestStatus.OPEN.value  # a RequestStatus value
    batch_id: str | None = None  # the batch that answered it
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LabelBatch(CatalogModel, table=True):
    """One batch of labels that landed, and whether it was published to `main`."""

    __tablename__ = "label_batches"
    __table_args__ = (
        CheckConstraint("status IN ('published', 'rejected')", name="ck_label_batches_status"),
    )

    batch_id: str = Field(primary_key=True)
    request_id: str | None = Field(default=None, index=True)  # None for imported labels
    source: str  # who labeled: a labeling team, an import, the simulated labelers
    landing_commit: str  # the commit on the landing branch that brought it
    published_commit: str | None = None  # the commit on main that published it
    frames: int
    boxes: int
    status: str  # a BatchStatus value
    reason: str = ""  # why it was rejected
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RejectedLabelBatch(CatalogModel, table=True):
    """A rejection that a fixed upload of the same batch id replaced: what landed, and why it
    was turned down."""

    __tablename__ = "rejected_label_batches"

    batch_id: str = Field(primary_key=True)
    landing_commit: str = Field(primary_key=True)
    source: str
    frames: int
    boxes: int
    reason: str
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class Labeling:
    """Labeling calls of `Catalog`."""

    _db: Database

    def record_request(
        self, request_id: str, *, frames: int, slices: dict[str, int]
    ) -> LabelRequest:
        validate.text("request_id", request_id)
        fields = {"frames": validate.count("frames", frames), "slices": _slices(slices)}
        with self._db.writing() as session:
            values = {"request_id": request_id, **fields, "status": RequestStatus.OPEN.value}
            insert_ignore(session, LabelRequest, {**values, "created_at": utcnow()})
            request = _request(session, request_id)
            _same_or_conflict(f"labeling request {request_id!r}", request, fields)
            return request

    def requests(self, status: str | None = None) -> list[LabelRequest]:
        """Labeling requests, oldest first; `status` is 'open' or 'answered'."""
        query = select(LabelRequest)
        if status is not None:
            status = validate.choice("status", status, RequestStatus)
            query = query.where(LabelRequest.status == status)
        query = query.order_by(col(LabelRequest.created_at), col(LabelRequest.request_id))
        with self._db.reading() as session:
            return list(session.exec(query).all())

    def mark_request_answered(self, request_id: str, batch_id: str) -> LabelRequest:
        validate.text("batch_id", batch_id)
        with self._db.writing() as session:
            request = _request(session, request_id, for_update=True)
            if request.status == RequestStatus.ANSWERED and request.batch_id != batch_id:
                raise RecordConflictError(
                    f"labeling request {request_id!r} was already answered by batch "
                    f"{request.batch_id!r}, not {batch_id!r}"
                )
            if request.status == RequestStatus.OPEN:
                request.status, request.batch_id = RequestStatus.ANSWERED.value, batch_id
                request.answered_at = utcnow()
            session.flush()
            return request

    def record_label_batch(
        self,
        batch_id: str,
        *,
        request_id: str | None,
        source: str,
        landing_commit: str,
        published_commit: str | None,
        frames: int,
        boxes: int,
        status: str,
        reason: str = "",
    ) -> LabelBatch:
        """Record a batch that landed: `published` needs its commit on main, `rejected` a reason."""
        validate.text("batch_id", batch_id)
        status = validate.choice("status", status, BatchStatus)
        if status == BatchStatus.PUBLISHED and not published_commit:
            raise InvalidRecordError(f"published batch {batch_id!r} needs its published_commit")
        if status == BatchStatus.REJECTED and not (isinstance(reason, str) and reason.strip()):
            raise InvalidRecordError(f"rejected batch {batch_id!r} needs a reason saying why")
        content = {
            "request_id": validate.optional_text("request_id", request_id),
            "source": validate.text("source", source),
            "landing_commit": validate.text("landing_commit", landing_commit),
            "frames": validate.count("frames", frames),
            "boxes": validate.count("boxes", boxes),
            "status": status,
        }
        outcome = {
            "published_commit": validate.optional_text("published_commit", published_commit),
            "reason": reason,
        }
        with self._db.writing() as session:
            values = {"batch_id": batch_id, **content, **outcome, "recorded_at": utcnow()}
            insert_ignore(session, LabelBatch, values)
            batch = session.get_one(LabelBatch, batch_id, with_for_update=True)
            if (
                batch.status == BatchStatus.REJECTED
                and batch.landing_commit != content["landing_commit"]
            ):
                return _supersede(session, batch, values)
            _same_or_conflict(f"label batch {batch_id!r}", batch, content)
            return batch

    def rejected_label_batches(self, batch_id: str | None = None) -> list[RejectedLabelBatch]:
        """Rejections that a fixed upload under the same batch id replaced, oldest first."""
        query = select(RejectedLabelBatch)
        if batch_id is not None:
            query = query.where(RejectedLabelBatch.batch_id == batch_id)
        query = query.order_by(col(RejectedLabelBatch.recorded_at))
        with self._db.reading() as session:
            return list(session.exec(query).all())

    def label_batches(self, status: str | None = None) -> list[LabelBatch]:
        """Label batches, oldest first; `status` is 'published' or 'rejected'."""
        query = select(LabelBatch)
        if status is not None:
            status = validate.choice("status", status, BatchStatus)
            query = query.where(LabelBatch.status == status)
        query = query.order_by(col(LabelBatch.recorded_at), col(LabelBatch.batch_id))
        with self._db.reading() as session:
            return list(session.exec(query).all())


def _supersede(session: Session, rejected: LabelBatch, values: dict[str, Any]) -> LabelBatch:
    """Keep `rejected` in `rejected_label_batches` and record the new landing in its place."""
    kept = {
        k: getattr(rejected, k)
        for k in ("batch_id", "landing_commit", "source", "frames", "boxes", "reason")
    }
    insert_ignore(session, RejectedLabelBatch, {**kept, "recorded_at": rejected.recorded_at})
    for key, value in values.items():
        setattr(rejected, key, value)
    session.add(rejected)
    session.flush()
    return rejected


def _request(session: Session, request_id: str, *, for_update: bool = False) -> LabelRequest:
    # FOR UPDATE on PostgreSQL: a concurrent answer waits, then sees this one and conflicts
    # (SQLite's BEGIN IMMEDIATE already serialises writers).
    request = session.get(LabelRequest, request_id, with_for_update=for_update)
    if request is None:
        raise UnknownRequestError(
            f"no labeling request {request_id!r} is recorded; record_request() it first"
        )
    return request


def _slices(slices: object) -> dict[str, int]:
    if not isinstance(slices, dict):
        raise InvalidRecordError(f"slices must be a dict of slice name -> frames, got {slices!r}")
    for name, frames in slices.items():
        validate.text("slice name", name)
        validate.count(f"slices[{name!r}]", frames)
    return dict(slices)


def _same_or_conflict(what: str, stored: CatalogModel, fields: dict[str, Any]) -> None:
    if differ := validate.differences(stored, fields):
        names = sorted(k for k, v in fields.items() if getattr(stored, k) != v)
        raise RecordConflictError(
            f"{what} is already recorded with other {', '.join(names)}: {differ}; "
            "records of what happened are immutable, so use a new id"
        )
