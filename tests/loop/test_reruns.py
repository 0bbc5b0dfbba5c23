"""Re-runs change nothing: the whole graph materialized once, then every asset, the
`weekly_cycle` job and every sensor tick again on the same input leave main, every branch
and tag, and the catalog as they were (a re-run's Data Docs page stays on its own audited
commit), fail nothing and request no run the daemon would launch. A fixed re-upload of a
rejected batch under its own id publishes once."""

from __future__ import annotations

import shutil
import sqlite3

import dagster as dg
import pytest

from bench.faults_loop import World, build_worlds
from entrypoints.demo.world import upload_label_batch
from resources.storage import read_table

DRIVE_ASSETS = ["fleet_logs", "frames", "fleet_predictions", "fleet_signals"]
SENSORS = ("fleet_upload_sensor", "label_batch_sensor", "deployed_model_sensor")


def store_state(world: World) -> dict[str, str]:
    refs = (*world.store.list_branches(world.repo), *world.store.list_tags(world.repo))
    return {ref.name: ref.commit_id for ref in refs}


def catalog_rows(world: World) -> dict[str, list[tuple]]:
    with sqlite3.connect(world.root / "catalog.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(map(repr, db.execute(f"SELECT * FROM {t}"))) for t in tables}


def changed(before: dict, after: dict) -> dict:
    return {
        k: (before.get(k), after.get(k)) for k in before | after if before.get(k) != after.get(k)
    }


def unspent_requests(world: World, name: str, cursor: str | None) -> list[str]:
    """The run keys one tick of `name` requests that the daemon would launch (not yet used)."""
    return [r.run_key for r in world.unspent(name, world.evaluate(name, cursor))]


def weekly_cycle(world: World) -> dg.ExecuteInProcessResult:
    job = world.defs.resolve_job_def("weekly_cycle")
    return job.execute_in_process(instance=world.instance, resources=world.resources)


def everything_once(world: World, batch: str) -> list[bool]:
    """Every asset of the graph materialized, every sensor ticked."""
    outcomes = [weekly_cycle(world).success]
    drives = world.instance.get_dynamic_partitions("drives")
    for drive in drives[:2]:
        outcomes.append(world.materialize(DRIVE_ASSETS, partition=drive).success)
    outcomes.append(world.materialize(["label_sets"], partition=batch).success)
    outcomes.append(world.promote().success)
    for name in SENSORS:
        outcomes += [r.success for r in world.tick(name)]
    return outcomes


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("reruns")
    worlds = build_worlds(scratch)
    root = scratch / "world"
    shutil.copytree(worlds["trained"], root)
    world = World(root)
    assert world.promote().success
    for name in SENSORS:  # the promotion re-predicts the fleet
        assert all(r.success for r in world.tick(name))
    yield world
    world.close()


@pytest.fixture(scope="module")
def batch(world) -> str:
    (record,) = world.catalog.label_batches()
    return record.batch_id


@pytest.fixture(scope="module")
def twice(world, batch):
    assert all(everything_once(world, batch))
    store, catalog, cursors = store_state(world), catalog_rows(world), world._cursors()
    assert all(everything_once(world, batch)), "a re-run failed"
    return store, catalog, cursors


def test_everything_twice_changes_no_catalog_row_and_requests_no_run(world, twice):
    _, catalog, cursors = twice
    assert changed(catalog, catalog_rows(world)) == {}, "a re-run changed the catalog"
    for name in SENSORS:  # a tick, from its cursor or replayed from scratch, launches nothing
        assert unspent_requests(world, name, cursors.get(name)) == []
        if name != "deployed_model_sensor":  # its cursor counts moves: None is a first move
            assert unspent_requests(world, name, None) == []


def test_everything_twice_leaves_every_branch_and_tag_where_it_was(world, twice):
    store, _, _ = twice
    new = []
    for commit in world.store.log(world.repo, "main"):
        if commit.id == store["main"]:
            break
        new.append(commit.metadata.get("fleetloop.asset"))
    assert new == [], f"re-runs of {new} committed on main"
    assert changed(store, store_state(world)) == {}


def test_a_rerun_links_the_data_docs_page_it_rendered(world, twice):
    """A re-run publishes no Data Docs, and its check still opens the page it rendered: the
    link names the run's own audited commit, which holds it."""
    main = world.store.resolve(world.repo, "main")
    drive = world.instance.get_dynamic_partitions("drives")[0]
    result = world.materialize(["frames"], partition=drive)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed
    uri = evaluation.metadata["data_docs_uri"].value
    commit, path = uri.removeprefix(f"lakefs://{world.repo}/").split("/", 1)
    assert commit != main and world.store.get(world.repo, commit, path).startswith(b"<!DOCTYPE")
    assert not world.store.exists(world.repo, "main", path)
    assert world.store.resolve(world.repo, "main") == main


def test_a_fixed_reupload_of_a_rejected_batch_publishes_once(world, batch):
    frames = read_table(world.store, world.repo, "main", f"labels/{batch}/frames.parquet")
    boxes = read_table(world.store, world.repo, "main", f"labels/{batch}/boxes.parquet")
    broken = boxes.with_columns(x1=boxes["x1"] + 5000)
    info = {"source": "relabel"}
    upload_label_batch(world.store, world.repo, "lb-fix", frames, broken, info)
    assert [r.success for r in world.tick("label_batch_sensor")] == [False]
    (rejected,) = [b for b in world.catalog.label_batches() if b.batch_id == "lb-fix"]
    assert rejected.status == "rejected"
    main = world.store.resolve(world.repo, "main")

    # the same id again with fixed files: published once, the rejection kept
    upload_label_batch(world.store, world.repo, "lb-fix", frames, boxes, info)
    assert [r.success for r in world.tick("label_batch_sensor")] == [True]
    (fixed,) = [b for b in world.catalog.label_batches() if b.batch_id == "lb-fix"]
    assert fixed.status == "published" and fixed.landing_commit != rejected.landing_commit
    assert [r.landing_commit for r in world.catalog.rejected_label_batches("lb-fix")] == [
        rejected.landing_commit
    ]
    assert world.store.resolve(world.repo, "main") != main
    published = [
        c for c in world.store.log(world.repo, "main") if c.metadata.get("batch_id") == "lb-fix"
    ]
    assert len(published) == 1
    store, catalog = store_state(world), catalog_rows(world)
    for _ in range(2):
        assert world.materialize(["label_sets"], partition="lb-fix").success
        assert world.tick("label_batch_sensor") == []
    assert store_state(world) == store and catalog_rows(world) == catalog

    # a published batch's id is spent: other files under it are refused in one line
    upload_label_batch(world.store, world.repo, "lb-fix", frames, broken, info)
    (refused,) = world.tick("label_batch_sensor")
    assert not refused.success
    (failure,) = [e for e in refused.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "upload the corrected labels under a new batch id" in (
        failure.step_failure_data.error.message
    )
    assert world.store.resolve(world.repo, "main") == store["main"]
    assert catalog_rows(world) == catalog
