"""lakeFS as a peer, on LocalStore's workload: branch creation and 100-change commits at both
repository sizes, a bulk load of new small objects and a large read, all through lakeFS's own
SDK (bench.lakefs_server.Lake); then the adapter's overhead (bench.lakefs_overhead).

The repositories are built with lakeFS's import API from files written under the scratch
directory (the local blockstore allows importing from there): uploading a million objects one
request each would take most of an hour. Building is untimed, as for every system.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from bench import lakefs_overhead
from bench.config import Config
from bench.lakefs_server import UPLOADERS, Lake, client, running, unavailable
from bench.timing import median, ms, progress, quiet_disk, settle
from bench.workload import changed, items, nested_key, payload, write_large, write_tree
from deploy.lakefs.build import BUILD_DIR

CHUNK = 1 << 20


def _repo(size: int) -> str:
    return f"bench-{size}"


def build(lake: Lake, tmp: Path, size: int) -> float:
    """A repository of `size` objects (nested layout) imported in one commit; seconds taken
    (writing the files + the import)."""
    source = tmp / f"lakefs-source-{size}"
    started = time.perf_counter()
    write_tree(source, "nested", 0, size)
    lake.create_repository(_repo(size))
    imported = lake.import_tree(_repo(size), "main", source, f"import {size:,} objects")
    if imported != size:
        raise RuntimeError(f"lakeFS imported {imported:,} of {size:,} objects")
    took = round(time.perf_counter() - started, 2)
    progress(f"lakeFS @ {size:,}: files written and imported in {took} s")
    return took


def branch_p50s(lake: Lake, sizes: tuple[int, ...], reps: int) -> dict[int, float]:
    """p50 ms of create_branch per size, the sizes taking turns (as for LocalStore)."""
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for k in range(reps):
        for size in sizes if k % 2 == 0 else sizes[::-1]:
            name = f"bench-{k}"
            times[size].append(ms(lambda s=size, n=name: lake.create_branch(_repo(s), n, "main")))
    return {size: median(found) for size, found in times.items()}


def commit_once(lake: Lake, size: int, rev: int) -> tuple[float, float]:
    """ms of (commit alone, 100 uploads + commit) for the rev-th 100-change commit. The uploads
    go one after the other, as LocalStore's 100 `put` calls do."""
    repo = _repo(size)
    settle()
    start = time.perf_counter()
    for i in changed(size, rev):
        lake.upload(repo, "main", nested_key(i), payload(i, rev))
    staged = time.perf_counter()
    lake.commit(repo, "main", f"change {rev}")
    end = time.perf_counter()
    return (end - staged) * 1000, (end - start) * 1000


def repositories(lake: Lake, cfg: Config, tmp: Path) -> dict:
    sizes = cfg.sizes
    out: dict = {"sizes": list(sizes), "build_s": {size: build(lake, tmp, size) for size in sizes}}
    fsync, waited = quiet_disk(tmp)
    out["branch_create_ms_p50"] = branch_p50s(lake, sizes, cfg.branch_reps)
    out["branch_create_fsync_ms_p50"] = {size: fsync for size in sizes}
    out["branch_create_disk_wait_s"] = {size: waited for size in sizes}
    commits: dict[int, list[float]] = {size: [] for size in sizes}
    totals: dict[int, list[float]] = {size: [] for size in sizes}
    for rev in range(1, cfg.local_commit_reps + 1):
        for size in sizes if rev % 2 else sizes[::-1]:
            commit, total = commit_once(lake, size, rev)
            commits[size].append(commit)
            totals[size].append(total)
    out["commit_100_ms"] = {size: median(commits[size]) for size in sizes}
    out["put_commit_100_ms"] = {size: median(totals[size]) for size in sizes}
    out["commit_100_ratio"] = {
        "nested": round(out["commit_100_ms"][cfg.big] / out["commit_100_ms"][cfg.small], 3)
    }
    progress(f"lakeFS repositories: { {k: v for k, v in out.items() if k != 'build_s'} }")
    for size in sizes:
        lake.delete_repository(_repo(size))
        shutil.rmtree(tmp / f"lakefs-source-{size}")
    return out


def bulk(lake: Lake, cfg: Config, tmp: Path) -> dict:
    """New small objects uploaded (UPLOADERS in parallel) and committed; and the same number
    as LocalStore's bulk commit imported from files (lakeFS's fast path for bulk loads)."""
    repo, objects = "bench-bulk", list(items("nested", 0, cfg.lakefs_bulk))
    lake.create_repository(repo)
    settle()
    upload = ms(lambda: lake.upload_many(repo, "main", objects))
    commit = ms(lambda: lake.commit(repo, "main", "bulk"))
    lake.delete_repository(repo)
    seconds = (upload + commit) / 1000
    progress(f"lakeFS bulk: {cfg.lakefs_bulk:,} objects uploaded + committed in {seconds:.2f} s")
    source, repo = tmp / "lakefs-bulk-files", "bench-import"
    write_tree(source, "nested", 0, cfg.bulk)
    lake.create_repository(repo)
    settle()
    imported = ms(lambda: lake.import_tree(repo, "main", source, "bulk import"))
    lake.delete_repository(repo)
    shutil.rmtree(source)
    progress(f"lakeFS bulk import: {cfg.bulk:,} objects in {imported / 1000:.2f} s")
    return {
        "bulk_commit_objects_per_s": round(cfg.lakefs_bulk / seconds),
        "bulk_objects": cfg.lakefs_bulk,
        "bulk_upload_s": round(upload / 1000, 3),
        "bulk_commit_s": round(commit / 1000, 3),
        "bulk_import_objects_per_s": round(cfg.bulk / (imported / 1000)),
        "bulk_import_objects": cfg.bulk,
    }


def large_read(lake: Lake, cfg: Config, tmp: Path) -> dict:
    """Best-of-n MB/s of one streamed GET of a large object, read in 1 MiB chunks (warm)."""
    repo, path, plain = "bench-large", "large/blob.bin", tmp / "lakefs-large.bin"
    write_large(plain, cfg.large_mb)
    lake.create_repository(repo)
    lake.upload(repo, "main", path, plain.read_bytes())
    lake.commit(repo, "main", "large")
    plain.unlink()
    settle()

    def read() -> None:
        response = lake.stream(repo, "main", path)
        total = 0
        while chunk := response.read(CHUNK):
            total += len(chunk)
        response.release_conn()
        assert total == cfg.large_mb << 20

    read()  # warm
    best = min(ms(read) for _ in range(cfg.read_reps))
    lake.delete_repository(repo)
    speed = round(cfg.large_mb / (best / 1000), 1)
    progress(f"lakeFS large read: {speed} MB/s")
    return {"large_read_mb_per_s": speed, "large_object_mb": cfg.large_mb}


def lake_version(lake: Lake) -> str:
    from lakefs_sdk import ConfigApi

    return ConfigApi(lake.api_client).get_config().version_config.version


def run(cfg: Config, tmp: Path, build_dir: Path = BUILD_DIR) -> dict:
    """lakeFS's measurements, or {"skipped": reason} when its binary is not built."""
    print("lakeFS", flush=True)
    reason = unavailable(build_dir)
    if reason is not None:
        print(f"  lakeFS skipped: {reason}", flush=True)
        return {"skipped": reason}
    with running(tmp, build_dir) as found:
        lakefs_client = client(found)
        lake = Lake(lakefs_client)
        out: dict = {"version": lake_version(lake)}
        out.update(repositories(lake, cfg, tmp))
        out.update(bulk(lake, cfg, tmp))
        out.update(large_read(lake, cfg, tmp))
        out["adapter_overhead"] = lakefs_overhead.run(lakefs_client, cfg)
    out["note"] = (
        f"lakeFS {out['version']} with local KV and local blockstore, started by the benchmark "
        f"in a temporary home; repositories of {cfg.small:,} and {cfg.big:,} objects built by "
        "lakeFS's import API (untimed); 100-change commits = 100 upload_object + commit; "
        f"bulk = {cfg.lakefs_bulk:,} upload_object calls ({UPLOADERS} in parallel) + commit, and "
        f"{cfg.bulk:,} objects imported from files (`bulk_import_objects_per_s`)"
    )
    return out
