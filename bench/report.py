"""The goals LocalStore is held to, and the tables printed at the end of a run."""

from __future__ import annotations

from bench.config import Config

SYSTEMS = ("localstore", "plain", "git", "dvc", "lakefs")
BY_SIZE = (
    "branch_create_ms_p50",
    "commit_100_ms",
    "put_commit_100_ms",
    "commit_100_ms_flat",
    "put_commit_100_ms_flat",
)


def _goal(metric: str, value: float, goal: str, ok: bool) -> dict:
    return {"metric": metric, "value": value, "goal": goal, "pass": ok}


def goals(results: dict, cfg: Config) -> list[dict]:
    """Pass/fail of each goal (set for the full sizes; a quick run checks its own sizes)."""
    big, small = f"{cfg.big:,}", f"{cfg.small:,}"
    rows = [
        _goal(
            f"branch_create_ms_p50 @ {big}",
            results["branch_create_ms_p50"][cfg.big],
            "<= 2 ms",
            results["branch_create_ms_p50"][cfg.big] <= 2,
        )
    ]
    for key in ("commit_100_ratio", "put_commit_100_ratio"):
        for layout, ratio in results[key].items():
            rows.append(_goal(f"{key} {layout} ({big} / {small})", ratio, "<= 1.5", ratio <= 1.5))
    bulk = results["bulk_commit_objects_per_s"]
    rows.append(_goal("bulk_commit_objects_per_s", bulk, ">= 20,000", bulk >= 20_000))
    ratio = results["large_read_ratio_vs_plain"]
    rows.append(_goal("large_read_ratio_vs_plain", ratio, ">= 0.8", ratio >= 0.8))
    return rows


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def goals_table(results: dict) -> str:
    rows = [
        [row["metric"], _fmt(row["value"]), row["goal"], "pass" if row["pass"] else "FAIL"]
        for row in results["goals"]
    ]
    return _table(["LocalStore metric", "value", "goal", "result"], rows)


def _systems(results: dict) -> dict[str, dict]:
    peers = results["peers"]
    return {"localstore": results, **{name: peers.get(name, {}) for name in SYSTEMS[1:]}}


# A row: label, the cells, and the LocalStore and lakeFS values it compares ("time": lower is
# better, "rate": higher is better; None when the row compares nothing).
Row = tuple[str, list[str], float | None, float | None, str | None]


def _by_size_rows(systems: dict[str, dict]) -> list[Row]:
    rows = []
    for metric in BY_SIZE:
        sizes = sorted({size for data in systems.values() for size in data.get(metric, {})})
        for size in sizes:
            cells = [_fmt(data.get(metric, {}).get(size)) for data in systems.values()]
            local, lake = (
                systems[name].get(metric, {}).get(size) for name in ("localstore", "lakefs")
            )
            rows.append((f"{metric} @ {size:,}", cells, local, lake, "time"))
    return rows


def _ratio_rows(systems: dict[str, dict], cfg: Config) -> list[Row]:
    rows = []
    for layout in ("nested", "flat"):
        cells = []
        for name, data in systems.items():
            ratio = data.get("commit_100_ratio", {}).get(layout)
            small, big = data.get("sizes", cfg.sizes)
            if name != "localstore" and ratio is not None and (small, big) != cfg.sizes:
                ratio = f"{_fmt(ratio)} ({big:,}/{small:,})"
            cells.append(_fmt(ratio))
        rows.append(
            (f"commit_100 ratio {layout} ({cfg.big:,}/{cfg.small:,})", cells, None, None, None)
        )
    return rows


def _bulk_cell(data: dict, key: str, cfg: Config) -> str:
    value, objects = data.get(key), data.get("bulk_objects", cfg.bulk)
    if value is None or objects == cfg.bulk:
        return _fmt(value)
    return f"{_fmt(value)} (@{objects:,})"


def _versus(local: float | None, lake: float | None, kind: str | None) -> list[str]:
    """LocalStore / lakeFS, and whether LocalStore is at least as fast on that row."""
    if kind is None or not local or not lake:
        return ["", ""]
    ratio = local / lake
    faster = ratio <= 1 if kind == "time" else ratio >= 1
    return [f"{ratio:.3g}", "ok" if faster else "MISS"]


def _rows(results: dict, cfg: Config) -> list[Row]:
    systems = _systems(results)
    lake = systems["lakefs"]
    rows = _by_size_rows(systems) + _ratio_rows(systems, cfg)
    keys = {"plain": "bulk_copy_objects_per_s"}
    bulk = [
        _bulk_cell(data, keys.get(name, "bulk_commit_objects_per_s"), cfg)
        for name, data in systems.items()
    ]
    local_bulk = results["bulk_commit_objects_per_s"]
    rows.append(
        (
            f"bulk objects/s ({cfg.bulk:,} new)",
            bulk,
            local_bulk,
            lake.get("bulk_commit_objects_per_s"),
            "rate",
        )
    )
    if "bulk_import_objects_per_s" in lake:
        imported = lake["bulk_import_objects_per_s"]
        cells = [_fmt(local_bulk), "", "", "", _fmt(imported)]
        rows.append(("bulk objects/s, lakeFS by import", cells, local_bulk, imported, "rate"))
    speeds = results["large_read_mb_per_s"]
    read = [speeds["localstore"], speeds["plain"], None, None, lake.get("large_read_mb_per_s")]
    rows.append(
        (f"large read MB/s ({cfg.large_mb} MB)", list(map(_fmt, read)), read[0], read[4], "rate")
    )
    return rows


def side_by_side(results: dict, cfg: Config) -> str:
    table = [
        [label, *cells, *_versus(local, lake, kind)]
        for label, cells, local, lake, kind in _rows(results, cfg)
    ]
    return _table(["metric (ms unless noted)", *SYSTEMS, "local/lakefs", "vs lakefs"], table)


def versus_lakefs(results: dict, cfg: Config) -> dict[str, dict]:
    """Every row LocalStore and lakeFS both measured: their values, LocalStore / lakeFS, and
    whether LocalStore is at least as fast (stored as peers.lakefs.versus_localstore)."""
    out = {}
    for label, _, local, lake, kind in _rows(results, cfg):
        if kind is not None and local and lake:
            ratio, verdict = _versus(local, lake, kind)
            out[label] = {
                "localstore": local,
                "lakefs": lake,
                "localstore_over_lakefs": float(ratio),
                "better": "lower" if kind == "time" else "higher",
                "localstore_at_least_as_fast": verdict == "ok",
            }
    return out


def footnotes(results: dict) -> list[str]:
    plain = results["peers"]["plain"]
    fsync = results.get("fsync_ms_p50", {})
    waits = results.get("branch_create_disk_wait_s", {})
    notes = [
        "durable file creation on this disk (write, fsync, rename, fsync of the directory: "
        f"what creating a ref costs), p50: {_fmt(fsync.get('start'))} ms at the start of the "
        f"run, {_fmt(fsync.get('end'))} ms at the end, "
        + ", ".join(
            sorted(
                {
                    f"{_fmt(ms)} ms just before the branch creations (after waiting "
                    f"{_fmt(waits.get(size))} s for the disk to drain)"
                    for size, ms in results.get("branch_create_fsync_ms_p50", {}).items()
                }
            )
        ),
        "plain bulk = `cp -r` of the files (no fsync); writing them from memory: "
        f"{_fmt(plain['bulk_write_objects_per_s'])}/s",
        "git: commit = `git commit`; put+commit adds writing the files and `git add`",
        "dvc: commit = `dvc add` + `git commit` of the .dvc file; put+commit adds writing files",
    ]
    for name in ("git", "dvc", "lakefs"):
        peer = results["peers"].get(name, {})
        if "error" in peer:
            notes.append(f"{name}: {peer['error']}")
        elif "skipped" in peer:
            notes.append(f"{name}: skipped, {peer['skipped']}")
        elif "note" in peer:
            notes.append(f"{name}: {peer['note']}")
    notes.append(
        "local/lakefs = LocalStore / lakeFS; `vs lakefs` says whether LocalStore is at "
        "least as fast (lower ms, higher objects/s or MB/s)"
    )
    return notes


def overhead_table(results: dict) -> str | None:
    """LakeFSStore against the same calls made directly with lakefs_sdk (goal: <= 1.1x)."""
    found = results["peers"].get("lakefs", {}).get("adapter_overhead")
    if not found:
        return None
    rows = [
        [
            name,
            _fmt(call["adapter_ms_p50"]),
            _fmt(call["sdk_ms_p50"]),
            f"{call['ratio']:.3g}",
            f"{call['adapter_requests']} / {call['sdk_requests']}",
            "pass" if call["ratio"] <= 1.1 else "FAIL",
        ]
        for name, call in found["calls"].items()
    ]
    header = [
        "LakeFSStore call (p50 ms)",
        "adapter",
        "lakefs_sdk",
        "ratio",
        "HTTP requests",
        "<= 1.1",
    ]
    return _table(header, rows)
