"""Write–audit–publish on the real embedded store."""

from __future__ import annotations

import pytest

from assets.publishing import CHECKS_KEY, RunBranch
from resources.versioning import RefNotFoundError
from resources.versioning.local import LocalStore


@pytest.fixture
def store(tmp_path):
    s = LocalStore(tmp_path / "store")
    s.create_repository("drive-data")
    return s


def test_a_passing_audit_is_merged_and_its_branch_removed(store):
    run = RunBranch(store, "drive-data", "0123456789ab", "frames")
    run.put("frames/frames.parquet", b"rows")
    commit = run.commit("frames", passed=True)
    publication = run.publish(commit, True, "publish frames")
    assert publication.passed and publication.data_version == store.resolve("drive-data", "main")
    assert store.get("drive-data", "main", "frames/frames.parquet") == b"rows"
    assert store.get_commit("drive-data", "main").metadata[CHECKS_KEY] == "passed"
    with pytest.raises(RefNotFoundError):
        store.get_branch("drive-data", run.name)


def test_a_failing_audit_leaves_main_alone_and_the_branch_for_inspection(store):
    before = store.resolve("drive-data", "main")
    run = RunBranch(store, "drive-data", "0123456789ab", "fleet_logs", partition="d0001")
    run.put("raw/drives/d0001.parquet", b"corrupt")
    commit = run.commit("bad upload", passed=False)
    publication = run.publish(commit, False, "publish")
    assert not publication.passed and publication.data_version == commit
    assert store.resolve("drive-data", "main") == before
    assert not store.exists("drive-data", "main", "raw/drives/d0001.parquet")
    assert store.get("drive-data", run.name, "raw/drives/d0001.parquet") == b"corrupt"
    assert store.get_commit("drive-data", run.name).metadata[CHECKS_KEY] == "failed"


def test_a_retried_step_drops_what_a_crashed_attempt_staged(store):
    crashed = RunBranch(store, "drive-data", "0123456789ab", "frames")
    crashed.put("frames/partial.parquet", b"half")
    retry = RunBranch(store, "drive-data", "0123456789ab", "frames")
    assert retry.name == crashed.name
    assert store.uncommitted("drive-data", retry.name) == []


def test_a_rerun_whose_only_changes_are_its_data_docs_merges_nothing(store):
    first = RunBranch(store, "drive-data", "0123456789ab", "frames")
    first.put("frames/d0001.parquet", b"rows")
    first.put_docs("quality/frames/d0001", {"validations/s/run-1/page.html": b"<html>1"})
    published = first.publish(first.commit("frames", passed=True), True, "publish frames")
    main = store.resolve("drive-data", "main")
    assert published.published_id == main

    again = RunBranch(store, "drive-data", "ba9876543210", "frames")
    again.put("frames/d0001.parquet", b"rows")
    again.put_docs("quality/frames/d0001", {"validations/s/run-2/page.html": b"<html>2"})
    audited = again.commit("frames", passed=True)
    assert not again.changes_data(audited)
    assert again.publish(audited, True, "publish frames").published_id == main
    assert store.resolve("drive-data", "main") == main  # no merge commit
    assert store.get("drive-data", audited, "quality/frames/d0001/validations/s/run-2/page.html")

    changed = RunBranch(store, "drive-data", "cafecafecafe", "frames")
    changed.put("frames/d0001.parquet", b"other rows")
    changed.put_docs("quality/frames/d0001", {"validations/s/run-3/page.html": b"<html>3"})
    audited = changed.commit("frames", passed=True)
    assert changed.changes_data(audited)
    assert changed.publish(audited, True, "publish frames").published_id != main
