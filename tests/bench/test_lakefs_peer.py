"""The lakeFS peer of `make bench-store`: skipped with a reason without a binary, compared
honestly in the side-by-side table, and run end to end (tiny sizes) against a lakeFS server it
starts and stops itself."""

from __future__ import annotations

import dataclasses

import pytest

from bench import lakefs_peer, report
from bench.config import QUICK
from deploy.lakefs import server

TINY = dataclasses.replace(
    QUICK,
    sizes=(200, 500),
    bulk=300,
    large_mb=2,
    lakefs_bulk=50,
    local_commit_reps=2,
    branch_reps=3,
    read_reps=2,
    overhead_reps=2,
)


def test_lakefs_is_skipped_with_its_reason_when_not_built(tmp_path):
    found = lakefs_peer.run(TINY, tmp_path, build_dir=tmp_path / "no-build")

    assert found.keys() == {"skipped"}
    assert "is not built" in found["skipped"]


def _results(local_branch_ms: float, lakefs_branch_ms: float) -> dict:
    sizes = {200: local_branch_ms}
    return {
        "branch_create_ms_p50": sizes,
        "commit_100_ratio": {"nested": 1.0},
        "bulk_commit_objects_per_s": 1000,
        "large_read_mb_per_s": {"localstore": 500.0, "plain": 600.0},
        "peers": {
            "plain": {"bulk_copy_objects_per_s": 10, "bulk_objects": 300},
            "git": {},
            "dvc": {},
            "lakefs": {
                "sizes": [200, 500],
                "branch_create_ms_p50": {200: lakefs_branch_ms},
                "bulk_commit_objects_per_s": 2000,
                "bulk_objects": 50,
                "large_read_mb_per_s": 250.0,
            },
        },
    }


def test_a_row_where_lakefs_is_faster_is_marked_a_miss():
    results = _results(local_branch_ms=3.0, lakefs_branch_ms=1.5)

    versus = report.versus_lakefs(results, TINY)
    table = report.side_by_side(results, TINY)

    branch = versus["branch_create_ms_p50 @ 200"]
    assert branch["localstore_over_lakefs"] == 2.0
    assert not branch["localstore_at_least_as_fast"]
    assert not versus["bulk objects/s (300 new)"]["localstore_at_least_as_fast"]
    assert versus["large read MB/s (2 MB)"]["localstore_at_least_as_fast"]
    assert table.count("MISS") == 2


@pytest.mark.lakefs
def test_lakefs_peer_measures_every_row_and_the_adapter(tmp_path):
    if not server.binary("lakefs").exists():
        pytest.skip("build/lakefs/bin/lakefs is not built")

    found = lakefs_peer.run(TINY, tmp_path)

    assert set(found["branch_create_ms_p50"]) == {200, 500}
    assert all(ms > 0 for ms in found["put_commit_100_ms"].values())
    assert found["bulk_objects"] == 50 and found["bulk_import_objects"] == 300
    assert found["large_read_mb_per_s"] > 0
    calls = found["adapter_overhead"]["calls"]
    assert calls["stat"]["adapter_requests"] == calls["stat"]["sdk_requests"] == 1
    assert calls["put_many_100"]["sdk_requests"] == 100
    assert all(call["ratio"] > 0 for call in calls.values())
    assert not (tmp_path / "lakefs-home" / "lakefs.pid").exists()  # the server was stopped
