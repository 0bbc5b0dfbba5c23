"""The peers, measured on the same objects as LocalStore: plain files (the floor), the git CLI
and DVC (`dvc add` + `git commit`). Each works in its own scratch directory, removed afterwards.
Preparing a working tree is never timed; only the tool's own steps are."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from bench.cli import ensure_dvc, feed, git_init, git_version, run
from bench.config import Config
from bench.timing import median, ms, progress, quiet_disk, settle
from bench.workload import link_tree, payload, write_changes, write_tree

SUFFIX = {"nested": "", "flat": "_flat"}


def _rate(objects: int, milliseconds: float) -> int:
    return round(objects / (milliseconds / 1000))


# -- plain files ------------------------------------------------------------------------------
def plain(cfg: Config, tmp: Path, source: Path, plain_read_mb_per_s: float) -> dict:
    """The bulk objects written as files from memory into `source` (kept: git and DVC take
    it over for their bulk commits), then copied with `cp -r`."""
    print("plain files", flush=True)
    copy, bulk = tmp / "plain-copy", cfg.peer_bulk
    settle()
    write = ms(lambda: write_tree(source, "nested", 0, bulk))
    settle()
    cp = ms(lambda: run(["cp", "-r", source, copy]))
    shutil.rmtree(copy)
    out = {
        "bulk_copy_objects_per_s": _rate(bulk, cp),
        "bulk_write_objects_per_s": _rate(bulk, write),
        "bulk_objects": bulk,
        "large_read_mb_per_s": plain_read_mb_per_s,
    }
    progress(f"plain: {out}")
    return out


# -- git --------------------------------------------------------------------------------------
def git_commit_100(repo: Path, layout: str, size: int, reps: int) -> tuple[float, float]:
    """Median ms of (git commit, write files + git add + git commit) for 100 changes."""
    commits, totals = [], []
    for rev in range(1, reps + 1):
        settle()
        start = time.perf_counter()
        keys = write_changes(repo, layout, size, rev)
        run(["git", "add", "--", *keys], cwd=repo)
        staged = time.perf_counter()
        run(["git", "commit", "-q", "-m", f"change {rev}"], cwd=repo)
        end = time.perf_counter()
        commits.append((end - staged) * 1000)
        totals.append((end - start) * 1000)
    return median(commits), median(totals)


def git_add_commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "-m", message], cwd=repo)


def git_bulk(cfg: Config, tmp: Path, source: Path) -> dict:
    print("git: bulk commit", flush=True)
    repo, bulk = tmp / "git-bulk", cfg.peer_bulk
    git_init(repo)
    os.rename(source / "drives", repo / "drives")  # the files plain() wrote
    settle()
    took = ms(lambda: git_add_commit(repo, "bulk"))
    os.rename(repo / "drives", source / "drives")
    shutil.rmtree(repo)
    progress(f"git bulk: {bulk:,} objects in {took / 1000:.2f} s")
    return {
        "version": git_version(),
        "bulk_commit_objects_per_s": _rate(bulk, took),
        "bulk_objects": bulk,
    }


def git_seed(repo: Path, size: int) -> None:
    """Put the objects' blobs into one pack (git fast-import), as after `git gc`: the
    `git add -A` that follows finds them and writes no loose objects (untimed set-up)."""
    blobs = (b"blob\ndata %d\n%s\n" % (len(data), data) for data in map(payload, range(size)))
    feed(["git", "fast-import", "--quiet"], repo, blobs)


def git_build(cfg: Config, tmp: Path, size: int) -> dict[str, Path]:
    """One repository per layout holding `size` objects, committed with `git add -A`."""
    repos = {layout: tmp / f"git-{layout}-{size}" for layout in cfg.git_layouts}
    nested = repos["nested"]
    for repo in repos.values():
        git_init(repo)
    progress(f"git @ {size:,}: writing the working tree")
    write_tree(nested, "nested", 0, size)
    git_seed(nested, size)
    for layout, repo in repos.items():
        if repo != nested:
            link_tree(nested, repo, layout, size)
            alternates = repo / ".git" / "objects" / "info" / "alternates"
            alternates.write_text(f"{nested / '.git' / 'objects'}\n")
        progress(f"git {layout} @ {size:,}: git add -A + git commit")
        git_add_commit(repo, "objects")
    return repos


def git_measure(cfg: Config, repo: Path, layout: str, size: int) -> dict:
    out = {}
    if layout == "nested":
        out["branch_fsync"], out["disk_wait_s"] = quiet_disk(repo.parent)  # as for LocalStore
        branch = [
            ms(lambda k=k: run(["git", "branch", f"bench-{k}"], cwd=repo))
            for k in range(cfg.branch_reps)
        ]
        out["branch_p50"] = median(branch)
    out["commit"], out["put_commit"] = git_commit_100(repo, layout, size, cfg.commit_reps)
    progress(f"git {layout} @ {size:,}: {out}")
    return out


def git_size(cfg: Config, tmp: Path, size: int) -> tuple[dict[str, dict], float]:
    started = time.perf_counter()
    repos = git_build(cfg, tmp, size)
    build_s = round(time.perf_counter() - started, 2)
    runs = {layout: git_measure(cfg, repo, layout, size) for layout, repo in repos.items()}
    removing = time.perf_counter()
    for repo in repos.values():
        shutil.rmtree(repo)
    progress(f"git @ {size:,}: removed in {time.perf_counter() - removing:.1f} s")
    return runs, build_s


def git_repositories(cfg: Config, tmp: Path) -> dict:
    """Branch creation and 100-change commits at git's repository sizes."""
    out: dict = {"sizes": list(cfg.git_sizes)}
    sizes = small, big = cfg.git_sizes
    measured = {size: git_size(cfg, tmp, size) for size in sizes}
    runs = {
        (layout, size): measured[size][0][layout] for layout in cfg.git_layouts for size in sizes
    }
    out["branch_create_ms_p50"] = {size: runs["nested", size]["branch_p50"] for size in sizes}
    out["branch_create_fsync_ms_p50"] = {
        size: runs["nested", size]["branch_fsync"] for size in sizes
    }
    out["commit_100_ratio"] = {}
    for layout in cfg.git_layouts:
        end = SUFFIX[layout]
        out[f"commit_100_ms{end}"] = {size: runs[layout, size]["commit"] for size in sizes}
        out[f"put_commit_100_ms{end}"] = {size: runs[layout, size]["put_commit"] for size in sizes}
        out["commit_100_ratio"][layout] = round(
            runs[layout, big]["commit"] / runs[layout, small]["commit"], 3
        )
    out["build_s"] = {size: measured[size][1] for size in sizes}
    out["note"] = (
        "repositories are built by writing the working tree, seeding its blobs as one pack "
        "(git fast-import, as after `git gc`) and `git add -A` + `git commit`; default git "
        "settings except gc.auto=0"
    )
    return out


# -- DVC --------------------------------------------------------------------------------------
class Dvc:
    """The dvc binary, run with its site cache (state and index databases) under the scratch
    directory instead of /var/tmp/dvc."""

    def __init__(self, binary: Path, tmp: Path):
        self.binary = binary
        self.env = {"DVC_SITE_CACHE_DIR": str(tmp / "dvc-site-cache")}

    def __call__(self, repo: Path, *args: str) -> str:
        return run([self.binary, *args], cwd=repo, env=self.env)


def dvc_init(dvc: Dvc, repo: Path) -> None:
    git_init(repo)
    dvc(repo, "init", "-q")
    dvc(repo, "config", "core.analytics", "false")
    git_add_commit(repo, "dvc init")


def dvc_track(dvc: Dvc, repo: Path, message: str) -> None:
    """`dvc add drives` and commit the .dvc file: DVC's version of a commit."""
    dvc(repo, "add", "-q", "drives")
    run(["git", "add", "drives.dvc", ".gitignore"], cwd=repo)
    run(["git", "commit", "-q", "-m", message], cwd=repo)


def dvc_commit_100(dvc: Dvc, repo: Path, size: int, reps: int) -> tuple[float, float]:
    """Median ms of (dvc add + git commit, write files + dvc add + git commit)."""
    commits, totals = [], []
    for rev in range(1, reps + 1):
        settle()
        start = time.perf_counter()
        write_changes(repo, "nested", size, rev)
        staged = time.perf_counter()
        dvc_track(dvc, repo, f"change {rev}")
        end = time.perf_counter()
        commits.append((end - staged) * 1000)
        totals.append((end - start) * 1000)
    return median(commits), median(totals)


def dvc_repository(dvc: Dvc, cfg: Config, tmp: Path, size: int, source: Path) -> dict:
    """Track `size` new objects (timed: the bulk commit), then 100-change commits."""
    repo = tmp / f"dvc-{size}"
    dvc_init(dvc, repo)
    if size == cfg.peer_bulk and (source / "drives").exists():
        os.rename(source / "drives", repo / "drives")  # the files plain() wrote
    else:
        write_tree(repo, "nested", 0, size)
    settle()
    track = ms(lambda: dvc_track(dvc, repo, "objects"))
    out = {"bulk_commit_objects_per_s": _rate(size, track)}
    out["commit"], out["put_commit"] = dvc_commit_100(dvc, repo, size, cfg.dvc_reps)
    progress(f"dvc @ {size:,}: {out}")
    shutil.rmtree(repo)
    return out


def dvc(cfg: Config, tmp: Path, source: Path) -> dict:
    print("DVC", flush=True)
    try:
        binary = ensure_dvc()
    except (RuntimeError, OSError) as error:
        return {"error": f"DVC could not be installed: {error}"}
    small, big = cfg.dvc_sizes
    tool = Dvc(binary, tmp)
    runs = {size: dvc_repository(tool, cfg, tmp, size, source) for size in cfg.dvc_sizes}
    return {
        "version": tool(tmp, "--version").strip(),
        "sizes": [small, big],
        "bulk_commit_objects_per_s": runs[big]["bulk_commit_objects_per_s"],
        "bulk_objects": big,
        "commit_100_ms": {size: runs[size]["commit"] for size in cfg.dvc_sizes},
        "put_commit_100_ms": {size: runs[size]["put_commit"] for size in cfg.dvc_sizes},
        "commit_100_ratio": {"nested": round(runs[big]["commit"] / runs[small]["commit"], 3)},
        "commit_reps": cfg.dvc_reps,
        "note": (
            f"measured at {small:,} and {big:,} objects, nested layout only (bulk: {big:,}): "
            "`dvc add` re-stats every tracked file and hashes the changed ones, so a larger "
            "DVC repository would take most of the run to build; DVC's branches are git "
            "branches (see git)"
        ),
    }


def run_peers(cfg: Config, tmp: Path, plain_read_mb_per_s: float) -> dict:
    """Plain files; git's bulk commit and DVC on the files plain() wrote; git's large
    repositories last (removing a million files is slow, and would disturb DVC)."""
    source = tmp / "bulk-files"
    plain_files = plain(cfg, tmp, source, plain_read_mb_per_s)
    git_out = git_bulk(cfg, tmp, source)
    dvc_out = dvc(cfg, tmp, source)
    shutil.rmtree(source, ignore_errors=True)
    print("git: repositories", flush=True)
    git_out.update(git_repositories(cfg, tmp))
    return {"plain": plain_files, "git": git_out, "dvc": dvc_out}
