"""Review flags: who flagged which frame, when, why and against which model."""

from __future__ import annotations

import pytest

from resources.catalog import InvalidRecordError, RecordConflictError, UnknownFlagError


def test_a_flag_records_who_when_why_and_which_model(catalog):
    flag = catalog.add_flag(
        "drive-3-00042", "green cone missed", flagged_by="qa:ana", model_version="2"
    )
    assert (flag.frame_id, flag.reason, flag.flagged_by) == (
        "drive-3-00042",
        "green cone missed",
        "qa:ana",
    )
    assert flag.model_version == "2" and flag.created_at.tzinfo is not None
    assert flag.is_open and flag.resolution is None
    assert catalog.flags() == [flag]


def test_flagging_twice_keeps_one_open_flag(catalog):
    first = catalog.add_flag("f1", "flicker", flagged_by="sensor:flicker")
    again = catalog.add_flag("f1", "flicker", flagged_by="sensor:flicker")
    assert again.id == first.id
    with_model = catalog.add_flag("f1", "flicker", flagged_by="sensor:flicker", model_version="2")
    assert with_model.id != first.id
    assert catalog.add_flag("f1", "flicker", flagged_by="qa:bo").id not in (first.id, with_model.id)
    assert len(catalog.flags()) == 3


def test_resolving(catalog):
    flag = catalog.add_flag("f1", "label error", flagged_by="qa:ana")
    other = catalog.add_flag("f2", "label error", flagged_by="qa:ana")
    resolved = catalog.resolve_flag(flag.id, "relabeled in batch b7")
    assert not resolved.is_open and resolved.resolution == "relabeled in batch b7"
    assert (
        catalog.resolve_flag(flag.id, "relabeled in batch b7").resolved_at == resolved.resolved_at
    )
    assert [f.id for f in catalog.flags()] == [other.id]
    assert [f.id for f in catalog.flags(open_only=False)] == [flag.id, other.id]
    with pytest.raises(RecordConflictError, match="already resolved as 'relabeled in batch b7'"):
        catalog.resolve_flag(flag.id, "not a problem")


def test_a_resolved_frame_can_be_flagged_again(catalog):
    flag = catalog.add_flag("f1", "label error", flagged_by="qa:ana")
    catalog.resolve_flag(flag.id, "fixed")
    anew = catalog.add_flag("f1", "label error", flagged_by="qa:ana")
    assert anew.id != flag.id and anew.is_open
    assert len(catalog.flags(open_only=False)) == 2


def test_unknown_flag(catalog):
    with pytest.raises(UnknownFlagError, match="no review flag with id 404"):
        catalog.resolve_flag(404, "fixed")


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("", "blurry"), {"flagged_by": "qa"}, "frame_id must be a non-empty string"),
        (("f1", ""), {"flagged_by": "qa"}, "reason must be a non-empty string"),
        (("f1", "blurry"), {"flagged_by": None}, "flagged_by must be a non-empty string"),
        (("f1", "blurry"), {"flagged_by": "qa", "model_version": ""}, "model_version"),
    ],
)
def test_bad_flags_are_refused(catalog, args, kwargs, message):
    with pytest.raises(InvalidRecordError, match=message):
        catalog.add_flag(*args, **kwargs)


def test_a_resolution_must_say_something(catalog):
    flag = catalog.add_flag("f1", "blurry", flagged_by="qa")
    with pytest.raises(InvalidRecordError, match="resolution"):
        catalog.resolve_flag(flag.id, "")
