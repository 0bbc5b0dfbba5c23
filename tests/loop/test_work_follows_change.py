"""Work follows the change, on the real loop: a promotion with nothing new settles without
retraining, one new drive costs only its own partitions, an edited evaluation slice
re-evaluates and re-gates, and an unchanged declaration asks for nothing.

Real store, catalog, GX and Dagster execution (`materialize`, sensor and automation
evaluation) on the small fleet of `tests/loop/conftest.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import dagster as dg
import pytest

from assets.slices.declarations import RandomSample
from tests.loop.conftest import SMALL_SLICES, make_harness
from tests.loop.harness import LoopHarness

MODEL = "cone_detector"
DRIVE_ASSETS = ("fleet_logs", "frames", "fleet_predictions", "fleet_signals")


@dataclass
class Story:
    harness: LoopHarness
    last_drive: str


def materializations(h: LoopHarness, asset: str) -> list[dg.EventLogEntry]:
    records = h.instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
    return [r.event_log_entry for r in records]


@pytest.fixture(scope="module")
def story(tmp_path_factory, fleet, labelers) -> Story:
    """The fleet but its last drive uploads; the baseline cycle runs to its promotion and the
    loop settles."""
    harness = make_harness(tmp_path_factory.mktemp("follows"))
    h = next(harness)
    *first, last = fleet.drive_ids
    h.upload(fleet, first)
    h.sensor("fleet_upload_sensor")
    h.settle()
    h.answer(labelers)
    h.sensor("label_batch_sensor")
    h.settle()
    assert h.catalog.alias(MODEL, "production") is not None
    yield Story(h, last)
    next(harness, None)


def test_a_promotion_with_nothing_new_settles_without_training_again(story):
    """The new deployed model re-predicts every drive and the slices that rank by it are cut
    again, but the training set is unchanged: it keeps its data version and no second
    candidate is trained."""
    h = story.harness
    assert len(materializations(h, "candidate_model")) == 1
    assert len(materializations(h, "training_set")) == 1
    predicted = {e.dagster_event.partition for e in materializations(h, "fleet_predictions")}
    assert predicted == set(h.instance.get_dynamic_partitions("drives"))
    assert len(materializations(h, "rain_slice")) >= 1  # mined with the deployed model
    assert h.settle() and h.automation().requested == []  # settled: ticks request nothing
    assert len(materializations(h, "candidate_model")) == 1


def test_one_new_drive_materializes_only_its_own_partitions(story, fleet):
    h = story.harness
    before = {a: len(materializations(h, a)) for a in DRIVE_ASSETS}
    h.upload(fleet, [story.last_drive])
    (run,) = h.sensor("fleet_upload_sensor")
    assert run.success
    seen = {
        (e.asset_key.to_user_string(), e.partition)
        for e in run.get_asset_materialization_events()
        for e in [e.event_specific_data.materialization]
    }
    assert seen == {(a, story.last_drive) for a in DRIVE_ASSETS}
    after = {a: len(materializations(h, a)) for a in DRIVE_ASSETS}
    assert after == {a: n + 1 for a, n in before.items()}
    h.settle()


def test_an_unchanged_declaration_requests_nothing(story):
    h = story.harness
    h.settle()
    h.use_slices(tuple(dataclasses.replace(s) for s in SMALL_SLICES))  # same declarations
    assert h.automation().requested == []


def test_editing_the_holdout_slice_re_evaluates_and_re_gates(story):
    h = story.harness
    h.settle()
    decisions = len(h.catalog.decisions(MODEL))
    reports = len(materializations(h, "evaluation_report"))
    edited = tuple(
        dataclasses.replace(s, selection=RandomSample(seed=24)) if s.name == "holdout" else s
        for s in SMALL_SLICES
    )
    h.use_slices(edited)
    tick = h.automation()
    assert tick.requested == sorted(
        [
            "holdout_slice",
            "labeling_queue",
            "training_set",
            "candidate_model",
            "evaluation_report",
            "production_model",
        ]
    )
    h.settle()
    assert len(materializations(h, "evaluation_report")) == reports + 1
    assert len(h.catalog.decisions(MODEL)) == decisions + 1
    h.use_slices(SMALL_SLICES)
