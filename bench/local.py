"""LocalStore measurements: branch creation and 100-change commits at two repository sizes
(two key layouts), a bulk commit of new small objects, and reading a large object."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from bench.config import Config
from bench.timing import median, ms, progress, quiet_disk, settle
from bench.workload import LAYOUTS, changed, items, payload, write_large
from resources.versioning.local import LocalStore, midx

REPO = "bench"
CHUNK = 1 << 20


def build(store: LocalStore, layout: str, size: int, batch: int) -> None:
    """A repository of `size` small objects, committed in put_many batches."""
    store.create_repository(REPO)
    for start in range(0, size, batch):
        stop = min(size, start + batch)
        store.put_many(REPO, "main", items(layout, start, stop))
        store.commit(REPO, "main", f"objects {start}..{stop}")
        progress(f"LocalStore {layout}: {stop:,}/{size:,} objects committed")


def branch_p50s(stores: dict[int, LocalStore], reps: int) -> dict[int, float]:
    """p50 ms of create_branch per repository size, the sizes taking turns (like commits)."""
    times: dict[int, list[float]] = {size: [] for size in stores}
    for k in range(reps):
        for size in stores if k % 2 == 0 else list(stores)[::-1]:
            name, store = f"bench-{k}", stores[size]
            times[size].append(ms(lambda s=store, n=name: s.create_branch(REPO, n, "main")))
    return {size: median(found) for size, found in times.items()}


def commit_once(store: LocalStore, layout: str, size: int, rev: int) -> tuple[float, float]:
    """ms of (commit alone, 100 puts + commit) for the rev-th 100-change commit."""
    key = LAYOUTS[layout]
    settle()
    start = time.perf_counter()
    for i in changed(size, rev):
        store.put(REPO, "main", key(i), payload(i, rev))
    staged = time.perf_counter()
    store.commit(REPO, "main", f"change {rev}")
    end = time.perf_counter()
    return (end - staged) * 1000, (end - start) * 1000


def measure_layout(cfg: Config, tmp: Path, layout: str) -> dict[int, dict[str, float]]:
    """Build the small and the big repository of a layout, then measure their branch
    creations and 100-change commits alternately (small, big, big, small, …): load from
    elsewhere on the machine falls on both sizes alike instead of skewing their comparison."""
    stores, out = {}, {}
    for size in cfg.sizes:
        stores[size] = LocalStore(tmp / f"local-{layout}-{size}")
        started = time.perf_counter()
        build(stores[size], layout, size, cfg.batch)
        out[size] = {"build_s": round(time.perf_counter() - started, 2)}
    if layout == "nested":
        fsync, waited = quiet_disk(tmp)
        for size, p50 in branch_p50s(stores, cfg.branch_reps).items():
            out[size].update(branch_p50=p50, branch_fsync=fsync, disk_wait_s=waited)
    commits: dict[int, list[float]] = {size: [] for size in cfg.sizes}
    totals: dict[int, list[float]] = {size: [] for size in cfg.sizes}
    for rev in range(1, cfg.local_commit_reps + 1):
        for size in cfg.sizes if rev % 2 else cfg.sizes[::-1]:
            commit, total = commit_once(stores[size], layout, size, rev)
            commits[size].append(commit)
            totals[size].append(total)
    for size in cfg.sizes:
        out[size]["commit"] = median(commits[size])
        out[size]["put_commit"] = median(totals[size])
        out[size]["midx_write_s"] = midx_write_s(stores[size])
        progress(f"LocalStore {layout} @ {size:,}: {out[size]}")
        shutil.rmtree(stores[size].root)
    return out


def midx_write_s(store: LocalStore) -> float | None:
    """Seconds to rewrite the multi-pack-index over every pack: what a commit pays once in
    MIDX_AFTER packs (the measured commits above stay under that many)."""
    git_dir = store.root / REPO / "git"
    settle()
    started = time.perf_counter()
    if not midx.write(git_dir, store.root / REPO / "locks"):
        return None
    return round(time.perf_counter() - started, 3)


def bulk(cfg: Config, tmp: Path) -> dict[str, float]:
    root = tmp / "local-bulk"
    store = LocalStore(root)
    store.create_repository(REPO)
    objects = list(items("nested", 0, cfg.bulk))
    settle()
    put_ms = ms(lambda: store.put_many(REPO, "main", objects))
    commit_ms = ms(lambda: store.commit(REPO, "main", "bulk"))
    shutil.rmtree(root)
    seconds = (put_ms + commit_ms) / 1000
    progress(f"LocalStore bulk: {cfg.bulk:,} objects in {seconds:.2f} s")
    return {
        "bulk_commit_objects_per_s": round(cfg.bulk / seconds),
        "bulk_objects": cfg.bulk,
        "bulk_put_many_s": round(put_ms / 1000, 3),
        "bulk_commit_s": round(commit_ms / 1000, 3),
    }


def _drain(handle) -> int:
    total = 0
    while chunk := handle.read(CHUNK):
        total += len(chunk)
    return total


def large_read(cfg: Config, tmp: Path) -> dict[str, float]:
    """Best-of-n MB/s of open_reader and of the same bytes in a plain file, both warm."""
    root = tmp / "local-large"
    plain = tmp / "large-plain.bin"
    write_large(plain, cfg.large_mb)
    store = LocalStore(root)
    store.create_repository(REPO)
    with open(plain, "rb") as source:
        store.put(REPO, "main", "large/blob.bin", source)
    store.commit(REPO, "main", "large")
    settle()

    def via_store() -> None:
        with store.open_reader(REPO, "main", "large/blob.bin") as reader:
            assert _drain(reader) == cfg.large_mb << 20

    def via_plain() -> None:
        with open(plain, "rb") as handle:
            assert _drain(handle) == cfg.large_mb << 20

    via_store()  # warm both
    via_plain()
    best = {"localstore": [], "plain": []}
    for _ in range(cfg.read_reps):
        best["localstore"].append(ms(via_store))
        best["plain"].append(ms(via_plain))
    shutil.rmtree(root)
    plain.unlink()
    speed = {name: round(cfg.large_mb / (min(t) / 1000), 1) for name, t in best.items()}
    progress(f"large read MB/s: {speed}")
    return {
        "large_read_ratio_vs_plain": round(speed["localstore"] / speed["plain"], 3),
        "large_read_mb_per_s": speed,
        "large_object_mb": cfg.large_mb,
    }


def _ratio(by_size: dict[int, float], cfg: Config) -> float:
    return round(by_size[cfg.big] / by_size[cfg.small], 3)


def run(cfg: Config, tmp: Path) -> dict:
    print("LocalStore", flush=True)
    runs = {
        (layout, size): one
        for layout in ("nested", "flat")
        for size, one in measure_layout(cfg, tmp, layout).items()
    }

    def pick(layout: str, metric: str) -> dict[int, float]:
        return {size: runs[layout, size][metric] for size in cfg.sizes}

    results: dict = {
        "branch_create_ms_p50": pick("nested", "branch_p50"),
        "branch_create_fsync_ms_p50": pick("nested", "branch_fsync"),
        "branch_create_disk_wait_s": pick("nested", "disk_wait_s"),
        "commit_100_ms": pick("nested", "commit"),
        "put_commit_100_ms": pick("nested", "put_commit"),
        "commit_100_ms_flat": pick("flat", "commit"),
        "put_commit_100_ms_flat": pick("flat", "put_commit"),
        "build_s": {f"{layout}@{size}": one["build_s"] for (layout, size), one in runs.items()},
        "midx_write_s": {
            f"{layout}@{size}": one["midx_write_s"] for (layout, size), one in runs.items()
        },
    }
    results["commit_100_ratio"] = {
        "nested": _ratio(results["commit_100_ms"], cfg),
        "flat": _ratio(results["commit_100_ms_flat"], cfg),
    }
    results["put_commit_100_ratio"] = {
        "nested": _ratio(results["put_commit_100_ms"], cfg),
        "flat": _ratio(results["put_commit_100_ms_flat"], cfg),
    }
    results.update(bulk(cfg, tmp))
    results.update(large_read(cfg, tmp))
    return results
