"""Several processes writing to one catalog at once, as Dagster run workers, the daemon and the
CLI do: every write lands exactly once and nobody sees "database is locked".

Workers come from a fork server that imported the catalog once but never opened it (cheaper than
spawning four interpreters, and no connection is inherited): each opens its own `Catalog` on a
database with no tables yet, so they also race to create the tables.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest

from resources.catalog import Catalog

WORKERS, FLAGS_EACH = 4, 50


def _write(url: str, worker: int, start, errors) -> None:
    try:
        catalog = Catalog(url)
        start.wait(timeout=60)
        for i in range(FLAGS_EACH):
            catalog.add_flag(f"w{worker}-{i:03d}", "disagreement", flagged_by=f"worker-{worker}")
            if i % 10 == 0:
                # Everyone records the same facts too: they must land once.
                catalog.add_flag("shared-frame", "flicker", flagged_by="sensor", model_version="1")
                catalog.register_model(
                    "cone_detector", "1", branch="b", commit="c", training_set_commit="t",
                    metrics={"ap50": 0.5}, card_path="card.md",
                )  # fmt: skip
                catalog.record_request("req-1", frames=8, slices={"rain": 8})
                catalog.flags()
        catalog.close()
    except BaseException as exc:
        errors.put(f"worker {worker}: {exc!r}")
        raise


@pytest.mark.slow
def test_concurrent_writers_land_every_write_once(fresh_db_url):
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["resources.catalog", __name__])
    start, errors = ctx.Barrier(WORKERS), ctx.Queue()
    workers = [
        ctx.Process(target=_write, args=(fresh_db_url, n, start, errors)) for n in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert failures == []
    assert [w.exitcode for w in workers] == [0] * WORKERS

    with Catalog(fresh_db_url) as catalog:
        flags = catalog.flags()
        assert len(flags) == WORKERS * FLAGS_EACH + 1
        assert len({f.frame_id for f in flags}) == WORKERS * FLAGS_EACH + 1
        assert len(catalog.models("cone_detector")) == 1
        assert len(catalog.requests()) == 1


def test_threads_share_one_catalog(db_url):
    """The daemon runs sensors in threads of one process, sharing the process's `Catalog`."""
    with Catalog(db_url) as catalog, ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda i: catalog.add_flag(f"t{i % 100}", "blurry", flagged_by="qa"), range(200)
            )
        )
        assert len(catalog.flags()) == 100
