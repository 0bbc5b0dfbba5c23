"""Labeling requests and label batches: immutable records, written once."""

from __future__ import annotations

import pytest

from resources.catalog import (
    InvalidRecordError,
    RecordConflictError,
    RequestStatus,
    UnknownRequestError,
)

SLICES = {"rain": 40, "green_cones": 24}


def batch(catalog, batch_id="b1", **overrides):
    fields = {
        "request_id": "req-1",
        "source": "simulated-labelers",
        "landing_commit": "1" * 64,
        "published_commit": "2" * 64,
        "frames": 64,
        "boxes": 151,
        "status": "published",
    }
    return catalog.record_label_batch(batch_id, **{**fields, **overrides})


def test_request_lifecycle(catalog):
    request = catalog.record_request("req-1", frames=64, slices=SLICES)
    assert (request.status, request.slices, request.batch_id) == ("open", SLICES, None)
    assert [r.request_id for r in catalog.requests(status="open")] == ["req-1"]
    answered = catalog.mark_request_answered("req-1", "b1")
    assert (answered.status, answered.batch_id) == (RequestStatus.ANSWERED, "b1")
    assert answered.answered_at >= answered.created_at
    assert catalog.requests(status="open") == []
    assert [r.request_id for r in catalog.requests()] == ["req-1"]


def test_recording_a_request_twice_keeps_one(catalog):
    first = catalog.record_request("req-1", frames=64, slices=SLICES)
    again = catalog.record_request("req-1", frames=64, slices=dict(SLICES))
    assert again.created_at == first.created_at
    assert len(catalog.requests()) == 1


def test_a_request_id_cannot_be_reused_for_other_frames(catalog):
    catalog.record_request("req-1", frames=64, slices=SLICES)
    with pytest.raises(RecordConflictError, match="'req-1' is already recorded with other frames"):
        catalog.record_request("req-1", frames=10, slices=SLICES)


def test_answering_twice(catalog):
    catalog.record_request("req-1", frames=64, slices=SLICES)
    first = catalog.mark_request_answered("req-1", "b1")
    assert catalog.mark_request_answered("req-1", "b1").answered_at == first.answered_at
    with pytest.raises(RecordConflictError, match="already answered by batch 'b1', not 'b2'"):
        catalog.mark_request_answered("req-1", "b2")


def test_answering_an_unknown_request(catalog):
    with pytest.raises(UnknownRequestError, match="no labeling request 'req-9'"):
        catalog.mark_request_answered("req-9", "b1")


def test_batches_published_and_rejected(catalog):
    published = batch(catalog)
    rejected = batch(
        catalog, "b2", published_commit=None, status="rejected", reason="boxes outside image"
    )
    assert (published.status, published.boxes, published.reason) == ("published", 151, "")
    assert (rejected.published_commit, rejected.reason) == (None, "boxes outside image")
    assert [b.batch_id for b in catalog.label_batches()] == ["b1", "b2"]
    assert [b.batch_id for b in catalog.label_batches(status="rejected")] == ["b2"]


def test_recording_a_batch_twice_keeps_one(catalog):
    first, again = batch(catalog), batch(catalog)
    assert again.recorded_at == first.recorded_at
    assert len(catalog.label_batches()) == 1
    with pytest.raises(RecordConflictError, match="label batch 'b1'.*other boxes"):
        batch(catalog, boxes=150)


def test_imported_batches_need_no_request(catalog):
    assert batch(catalog, request_id=None, source="coco-import").request_id is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status": "pending"}, "status must be one of published, rejected"),
        ({"published_commit": None}, "needs its published_commit"),
        ({"status": "rejected", "published_commit": None}, "needs a reason"),
        ({"frames": -1}, "frames must be an integer >= 0"),
        ({"boxes": 1.5}, "boxes must be an integer >= 0"),
        ({"source": " "}, "source must be a non-empty string"),
    ],
)
def test_bad_batches_are_refused(catalog, overrides, message):
    with pytest.raises(InvalidRecordError, match=message):
        batch(catalog, **overrides)
    assert catalog.label_batches() == []


@pytest.mark.parametrize(
    ("frames", "slices", "message"),
    [
        (-3, {}, "frames must be an integer >= 0"),
        (5, ["rain"], "slices must be a dict"),
        (5, {"rain": -1}, r"slices\['rain'\] must be an integer"),
        (5, {"": 1}, "slice name must be a non-empty string"),
    ],
)
def test_bad_requests_are_refused(catalog, frames, slices, message):
    with pytest.raises(InvalidRecordError, match=message):
        catalog.record_request("req-1", frames=frames, slices=slices)


def test_bad_status_filters(catalog):
    with pytest.raises(InvalidRecordError, match="one of open, answered"):
        catalog.requests(status="closed")
    with pytest.raises(InvalidRecordError, match="one of published, rejected"):
        catalog.label_batches(status="open")
