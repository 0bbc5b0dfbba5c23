"""Review flags: a person (or an automatic sanity check) says a frame needs a second look.

A flag records who raised it, when, why, and against which model version. Raising the same
open flag again (same frame, reason, flagger and model) returns the existing one, so a sensor
re-tick or a double click does not pile up duplicates; once resolved, the frame can be
flagged anew.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, func
from sqlmodel import Field, col, select

from resources.catalog import validate
from resources.catalog.base import CatalogModel, UTCDateTime, utcnow
from resources.catalog.database import Database, insert_ignore
from resources.catalog.errors import (
    CatalogUnavailableError,
    RecordConflictError,
    UnknownFlagError,
)


class ReviewFlag(CatalogModel, table=True):
    """A frame someone wants reviewed."""

    __tablename__ = "review_flags"

    id: int | None = Field(default=None, primary_key=True)
    frame_id: str = Field(index=True)
    reason: str
    flagged_by: str
    model_version: str | None = None  # the model whose output prompted the flag
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


# One open flag per (frame, reason, flagger, model). NULLs never collide in a unique index,
# hence the coalesce; the partial index leaves resolved flags out of it.
Index(
    "uq_review_flags_open",
    col(ReviewFlag.frame_id),
    col(ReviewFlag.reason),
    col(ReviewFlag.flagged_by),
    func.coalesce(col(ReviewFlag.model_version), ""),
    unique=True,
    sqlite_where=col(ReviewFlag.resolved_at).is_(None),
    postgresql_where=col(ReviewFlag.resolved_at).is_(None),
)


class ReviewFlags:
    """Review flag calls of `Catalog`."""

    _db: Database

    def add_flag(
        self, frame_id: str, reason: str, *, flagged_by: str, model_version: str | None = None
    ) -> ReviewFlag:
        key = {
            "frame_id": validate.text("frame_id", frame_id),
            "reason": validate.text("reason", reason),
            "flagged_by": validate.text("flagged_by", flagged_by),
            "model_version": validate.optional_text("model_version", model_version),
        }
        query = select(ReviewFlag).where(
            ReviewFlag.frame_id == frame_id,
            ReviewFlag.reason == reason,
            ReviewFlag.flagged_by == flagged_by,
            func.coalesce(col(ReviewFlag.model_version), "") == (model_version or ""),
            col(ReviewFlag.resolved_at).is_(None),
        )
        with self._db.writing() as session:
            for _ in range(3):
                insert_ignore(session, ReviewFlag, {**key, "created_at": utcnow()})
                # None only on PostgreSQL, when the open flag that blocked the insert was
                # resolved before this read: the frame can then be flagged anew.
                if (flag := session.exec(query).first()) is not None:
                    return flag
        raise CatalogUnavailableError(
            f"flagging {frame_id!r} raced with resolutions of the same flag three times; retry"
        )

    def flags(self, open_only: bool = True) -> list[ReviewFlag]:
        """Review flags, oldest first; only the unresolved ones unless `open_only=False`."""
        query = select(ReviewFlag)
        if open_only:
            query = query.where(col(ReviewFlag.resolved_at).is_(None))
        query = query.order_by(col(ReviewFlag.created_at), col(ReviewFlag.id))
        with self._db.reading() as session:
            return list(session.exec(query).all())

    def resolve_flag(self, flag_id: int, resolution: str) -> ReviewFlag:
        """Close a flag saying how it was resolved; resolving it again the same way is a no-op."""
        validate.text("resolution", resolution)
        with self._db.writing() as session:
            # Locked on PostgreSQL, so two resolutions cannot both see the flag open.
            flag = session.get(ReviewFlag, flag_id, with_for_update=True)
            if flag is None:
                raise UnknownFlagError(
                    f"no review flag with id {flag_id!r}; list open ones with flags()"
                )
            if flag.resolved_at is not None and flag.resolution != resolution:
                raise RecordConflictError(
                    f"review flag {flag_id} was already resolved as {flag.resolution!r}"
                )
            if flag.resolved_at is None:
                flag.resolved_at, flag.resolution = utcnow(), resolution
            session.flush()
            return flag
