"""Sizes of one benchmark run: the full run (`make bench-store`) and the quick one (`QUICK=1`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    quick: bool
    sizes: tuple[int, int]  # repository sizes (objects) for branch creation and commits
    bulk: int  # new small objects in the bulk commit
    large_mb: int  # size of the large object read back
    git_sizes: tuple[int, int]  # git's repository sizes (the full run: the same as sizes)
    peer_bulk: int  # new small objects in the bulk commit of plain files and git
    dvc_sizes: tuple[int, int]  # DVC's repository sizes (the larger one is its bulk commit)
    git_layouts: tuple[str, ...] = ("nested", "flat")  # layouts git's commits are measured in
    commit_reps: int = 7  # the peers' 100-change commits per size (median reported)
    local_commit_reps: int = 11  # LocalStore's, alternating between the sizes
    dvc_reps: int = 3  # DVC's 100-change commits per size (each takes seconds)
    branch_reps: int = 50  # branch creations per size (p50 reported)
    read_reps: int = 7  # large reads per reader, interleaved (best reported)
    batch: int = 100_000  # objects per put_many + commit when building a repository
    lakefs_bulk: int = 100_000  # new small objects uploaded one request each into lakeFS
    overhead_reps: int = 31  # alternating adapter / SDK calls per call measured

    @property
    def small(self) -> int:
        return self.sizes[0]

    @property
    def big(self) -> int:
        return self.sizes[1]


FULL = Config(
    quick=False,
    sizes=(10_000, 1_000_000),
    bulk=100_000,
    large_mb=100,
    git_sizes=(10_000, 1_000_000),
    peer_bulk=100_000,
    dvc_sizes=(10_000, 100_000),
)
QUICK = Config(
    quick=True,
    sizes=(1_000, 20_000),
    bulk=20_000,
    large_mb=20,
    git_sizes=(1_000, 5_000),
    peer_bulk=5_000,
    dvc_sizes=(1_000, 5_000),
    git_layouts=("nested",),
    commit_reps=3,
    local_commit_reps=5,
    dvc_reps=1,
    branch_reps=20,
    lakefs_bulk=2_000,
    overhead_reps=9,
)
