"""The small loop end to end on the real store, catalog, GX and Dagster execution.

One module-scoped story: the fleet uploads, the baseline cycle runs to a first promotion,
the curated cycle (rain and green-cone slices mined with the production model) runs to a
second gate decision. The tests then read what the loop left behind, and the last one lands a
corrupted relabel to see the gate refuse the worse candidate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import dagster as dg
import polars as pl
import pytest

from entrypoints.demo.world import upload_label_batch
from resources.layout import MANIFEST_PATH, checkpoint_path, request_path, slice_path
from resources.storage import list_paths, read_table
from tests.loop.conftest import SIZES, SMALL_SLICES
from tests.loop.harness import LoopHarness
from tests.partitions import read_fleet

MODEL = "cone_detector"


@dataclass
class Story:
    harness: LoopHarness
    upload_commit: str = ""
    fleet_runs: list = field(default_factory=list)
    cycles: list[dict] = field(default_factory=list)


@pytest.fixture(scope="module")
def story(module_harness, fleet, labelers) -> Story:
    h = module_harness
    s = Story(h)
    s.upload_commit = h.upload(fleet)
    s.fleet_runs = h.sensor("fleet_upload_sensor")
    ticks = h.settle()
    for _ in range(2):  # the baseline cycle, then the curated one
        answers = h.answer(labelers)
        label_runs = h.sensor("label_batch_sensor")
        ticks = h.settle()
        s.cycles.append({"answers": answers, "label_runs": label_runs, "ticks": ticks})
    return s


def test_one_run_ingests_the_whole_upload_and_publishes_it(story, fleet):
    h = story.harness
    assert [r.success for r in story.fleet_runs] == [True]
    frames = read_fleet(h.store, h.repo, "main", "frames")
    assert frames.height == len(fleet.frame_ids())
    assert len(list_paths(h.store, h.repo, "main", "raw/drives/")) == len(fleet.drive_ids)
    event = h.materialized("frames").asset_materialization
    assert event.metadata["lakefs_uri"].value.startswith("lakefs://drive-data/")
    # the data version is the commit that published the table
    commit = event.metadata["store_commit"].value
    assert read_fleet(h.store, h.repo, commit, "frames").equals(frames)
    assert h.store.get_commit(h.repo, commit).metadata["fleetloop.checks"] == "passed"
    docs = [
        p for p in list_paths(h.store, h.repo, "main", "quality/fleet_logs/") if p.endswith(".html")
    ]
    assert docs, "the Data Docs of the drive-log validation are committed next to the data"


def test_the_baseline_request_holds_the_bootstrap_slices(story):
    h = story.harness
    first = story.cycles[0]["answers"]
    assert len(first) == 1
    request = read_table(h.store, h.repo, "main", request_path(first[0].request_id))
    counts = dict(request.group_by("slice").len().rows())
    assert counts == {"holdout": SIZES["holdout"], "baseline": SIZES["baseline"]}
    assert request["frame_id"].n_unique() == request.height


def test_labels_land_once_and_flow_to_a_first_promotion(story):
    h = story.harness
    first = story.cycles[0]
    assert [r.success for r in first["label_runs"]] == [True]
    requested = first["ticks"][0].requested
    assert {"training_set", "candidate_model", "evaluation_report", "production_model"} <= set(
        requested
    )
    decisions = h.catalog.decisions(MODEL)
    assert decisions[0].approved and decisions[0].against_version is None
    baseline = decisions[0].candidate_version
    assert h.catalog.models(MODEL)[0].version == baseline
    tags = {t.name: t.commit_id for t in h.store.list_tags(h.repo)}
    assert f"{MODEL}-{baseline}" in tags
    assert h.store.exists(h.repo, "main", checkpoint_path(MODEL, baseline))
    manifest = read_table(h.store, h.repo, tags[f"{MODEL}-{baseline}"], MANIFEST_PATH)
    splits = dict(manifest.group_by("split").len().rows())
    assert splits == {"eval": SIZES["holdout"], "train": SIZES["baseline"]}


def test_the_curated_cycle_mines_with_the_production_model_and_is_decided(story):
    h = story.harness
    second = story.cycles[1]["answers"]
    assert len(second) == 1
    request = read_table(h.store, h.repo, "main", request_path(second[0].request_id))
    counts = dict(request.group_by("slice").len().rows())
    assert counts["green_cones"] == SIZES["green_cones"]
    frames = read_fleet(h.store, h.repo, "main", "frames")
    rainy = set(frames.filter(pl.col("weather") == "rain")["frame_id"])
    first = read_table(
        h.store, h.repo, "main", request_path(story.cycles[0]["answers"][0].request_id)
    )
    unlabeled_rain = rainy - set(first["frame_id"])
    # rain is rare: the slice asks for its target, or for every rainy frame still unlabeled
    assert counts.get("rain", 0) == min(SIZES["rain"], len(unlabeled_rain)) > 0
    rain = read_table(h.store, h.repo, "main", slice_path("rain"))
    assert set(rain["frame_id"]) <= rainy
    decisions = h.catalog.decisions(MODEL)
    assert len(decisions) == 2
    assert decisions[1].against_version == decisions[0].candidate_version
    assert {r["rule"] for r in decisions[1].rules} == {
        "data_checks_passed",
        "no_slice_regressed",
        "targeted_slices_improved",
    }
    targeted = next(r for r in decisions[1].rules if r["rule"] == "targeted_slices_improved")
    assert "green_cones" in targeted["detail"] and "rain" in targeted["detail"]


def test_after_the_story_a_tick_requests_nothing(story):
    h = story.harness
    assert h.automation().requested == []
    assert h.sensor("label_batch_sensor") == []
    assert h.sensor("fleet_upload_sensor") == []


def test_a_label_commit_is_handled_once_even_after_a_restart(story, fleet, labelers):
    h = story.harness
    frame_ids = fleet.frame_ids()[:5]
    batch = labelers.label(frame_ids, "lb-extra")
    upload_label_batch(h.store, h.repo, "lb-extra", batch.frames, batch.boxes, {"source": "test"})
    before = h.sensor_cursors["label_batch_sensor"]
    sensor = h.defs.get_sensor_def("label_batch_sensor")

    def tick(cursor):
        context = dg.build_sensor_context(
            instance=h.instance, cursor=cursor, resources=h.resources, definitions=h.defs
        )
        return sensor(context)

    first = tick(before)
    assert [r.partition_key for r in first.run_requests] == ["lb-extra"]
    assert tick(first.cursor).run_requests == []  # the next tick: nothing new
    # a daemon restart that lost the tick's cursor asks again under the same run key
    replay = tick(before)
    assert [r.run_key for r in replay.run_requests] == [r.run_key for r in first.run_requests]
    # keys name the batch's content, not the landing head: after landing moved on (another
    # upload), a replay, or a reset cursor, still asks under the same key
    upload_label_batch(h.store, h.repo, "lb-other", batch.frames, batch.boxes, {"source": "x"})
    moved = tick(before)
    keys = {r.partition_key: r.run_key for r in moved.run_requests}
    assert keys["lb-extra"] == first.run_requests[0].run_key and "lb-other" in keys
    # a cursor that no longer resolves reads the whole landing branch instead of raising
    lost = tick("0" * 64)
    assert keys["lb-extra"] in {r.run_key for r in lost.run_requests}
    h.sensor_cursors["label_batch_sensor"] = moved.cursor  # the story goes on past both


def test_editing_a_slice_rematerializes_exactly_it_and_downstream(story):
    h = story.harness
    assert h.automation().requested == []
    edited = tuple(
        dataclasses.replace(s, target_size=s.target_size + 20) if s.name == "rain" else s
        for s in SMALL_SLICES
    )
    h.use_slices(edited)
    tick = h.automation()
    # the slice and everything downstream of it, in one tick; nothing upstream or beside it
    assert tick.requested == sorted(
        [
            "rain_slice",
            "labeling_queue",
            "training_set",
            "candidate_model",
            "evaluation_report",
            "production_model",
        ]
    )
    assert tick.success
    latest = h.materialized("labeling_queue").asset_materialization.metadata
    assert latest["requested_frames"].value == 20
    h.use_slices(SMALL_SLICES)


def test_a_worse_candidate_is_refused_with_the_failing_rule(story, labelers):
    """Relabel every training frame with the cone colours swapped (a broken export mapping):
    the tables are valid, so the checks pass, but the candidate trained on them calls orange
    cones green, and the gate names the slices it lost."""
    h = story.harness
    manifest = read_table(h.store, h.repo, "main", MANIFEST_PATH)
    train = manifest.filter(pl.col("split") == "train")["frame_id"].to_list()
    production = h.catalog.alias(MODEL, "production")
    main_before = h.main_commit()
    batch = labelers.label(train, "lb-broken")
    swapped = batch.boxes.with_columns(
        pl.col("cls").replace({"orange_cone": "green_cone", "green_cone": "orange_cone"})
    )
    upload_label_batch(h.store, h.repo, "lb-broken", batch.frames, swapped, {"source": "test"})
    runs = h.sensor("label_batch_sensor")
    assert [r.success for r in runs] == [True]  # valid tables: the checks cannot know
    ticks = h.settle()
    assert not ticks[0].success
    decision = h.catalog.decisions(MODEL)[-1]
    assert not decision.approved
    failed = {r["rule"]: r["detail"] for r in decision.failed_rules}
    assert "no_slice_regressed" in failed and "orange_cones" in failed["no_slice_regressed"]
    assert h.catalog.alias(MODEL, "production").version == production.version
    assert not h.store.exists(h.repo, "main", checkpoint_path(MODEL, decision.candidate_version))
    assert h.store.resolve(h.repo, "main") != main_before  # the relabel itself was published
    latest = h.instance.get_latest_materialization_event(dg.AssetKey("production_model"))
    assert latest.asset_materialization.metadata["model_version"].value == production.version
