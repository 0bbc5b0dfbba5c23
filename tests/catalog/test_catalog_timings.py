"""Cycle timings: clock time per stage and human actions per cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from resources.catalog import InvalidRecordError

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def stage(catalog, name, start_min, end_min, cycle="2026-W45", human_actions=0):
    return catalog.record_stage(
        cycle,
        name,
        started_at=T0 + timedelta(minutes=start_min),
        ended_at=T0 + timedelta(minutes=end_min),
        human_actions=human_actions,
    )


def test_stages_and_human_actions(catalog):
    stage(catalog, "labeling", 10, 70, human_actions=2)
    stage(catalog, "curation", 0, 10)
    stage(catalog, "training", 70, 95, human_actions=1)
    stage(catalog, "curation", 0, 12, cycle="2026-W46")
    assert [s.stage for s in catalog.stages("2026-W45")] == ["curation", "labeling", "training"]
    assert [s.seconds for s in catalog.stages("2026-W45")] == [600.0, 3600.0, 1500.0]
    assert len(catalog.stages()) == 4
    assert catalog.human_actions("2026-W45") == 3
    assert catalog.human_actions("2026-W46") == 0
    assert catalog.human_actions("never-ran") == 0


def test_recording_a_stage_again_replaces_its_times(catalog):
    first = stage(catalog, "training", 0, 30)
    again = stage(catalog, "training", 40, 65, human_actions=1)
    assert again.id == first.id and again.seconds == 1500.0
    assert len(catalog.stages()) == 1 and catalog.human_actions("2026-W45") == 1


def test_times_come_back_in_utc(catalog):
    paris = timezone(timedelta(hours=1))
    timing = catalog.record_stage(
        "c",
        "s",
        started_at=datetime(2026, 11, 2, 10, 0, tzinfo=paris),
        ended_at=T0.replace(hour=9, minute=5),
    )
    assert timing.started_at == T0 and timing.started_at.tzinfo == UTC
    naive = catalog.record_stage("c", "t", started_at=datetime(2026, 11, 2, 9), ended_at=T0)
    assert catalog.stages("c")[0].started_at == naive.started_at == T0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"started_at": T0, "ended_at": T0 - timedelta(seconds=1)}, "ends .* before it starts"),
        ({"started_at": "09:00", "ended_at": T0}, "started_at must be a datetime"),
        ({"started_at": T0, "ended_at": T0, "human_actions": -1}, "human_actions must be"),
    ],
)
def test_bad_stages_are_refused(catalog, kwargs, message):
    with pytest.raises(InvalidRecordError, match=message):
        catalog.record_stage("c", "training", **kwargs)
    assert catalog.stages() == []
