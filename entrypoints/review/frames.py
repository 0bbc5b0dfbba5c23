"""The fleet as the review page sees it: frames, slices, predictions and pixels on one branch.

Each request resolves the branch to a commit and reads at that commit, so one page never mixes
two versions of the data. Tables are cached per commit (a commit never changes): paging through
a slice reads the frames table once, and a new commit on the branch shows on the next request.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import polars as pl

from entrypoints.review.errors import (
    InvalidInputError,
    NoFramesError,
    UnknownFrameError,
    UnknownSliceError,
)
from resources.layout import FRAMES_PREFIX, slice_path
from resources.storage import list_paths, predictions_of_ids, read_table, scan_frames
from resources.versioning import ObjectNotFoundError, VersionedStore

SLICES_PREFIX = slice_path("")[: -len(".parquet")]
_SLICE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_MAX_FRAME_ID = 200


class FrameSource:
    """Read-only access to the review data of `repo` at the head of `ref`."""

    def __init__(self, store: VersionedStore, repo: str, ref: str = "main"):
        self.store, self.repo, self.ref = store, repo, ref
        self._table = lru_cache(maxsize=16)(self._read)
        self._frames = lru_cache(maxsize=4)(
            lambda commit: scan_frames(self.store, self.repo, commit).collect()
        )
        self._images = lru_cache(maxsize=32)(self._read_images)  # drive logs: 24 frames each

    def commit(self) -> str:
        """The commit `ref` points at now; pass it to every other call of one request."""
        return self.store.resolve(self.repo, self.ref)

    def frames(self, commit: str) -> pl.DataFrame:
        frames = self._frames(commit)
        if frames.is_empty():
            raise NoFramesError(
                f"no frames ({FRAMES_PREFIX}) on {self.ref!r} of repository {self.repo!r} "
                "yet: ingest the fleet first (for example with `fleetloop demo`)"
            )
        return frames

    def slices(self, commit: str) -> list[str]:
        """Names of the slices on the branch, sorted."""
        names = (
            path.removeprefix(SLICES_PREFIX).removesuffix(".parquet")
            for path in list_paths(self.store, self.repo, commit, SLICES_PREFIX)
            if path.endswith(".parquet")
        )
        return sorted(name for name in names if _SLICE_NAME.fullmatch(name))

    def selection(self, commit: str, slice_name: str | None = None) -> pl.DataFrame:
        """The frames to review, in order: a slice's (best first) or the whole fleet's."""
        frames = self.frames(commit)
        if slice_name is None:
            return frames
        check_slice_name(slice_name)
        members = self._table(commit, slice_path(slice_name))
        if members is None:
            known = ", ".join(self.slices(commit)) or "none yet"
            raise UnknownSliceError(f"no slice {slice_name!r} on {self.ref!r} (slices: {known})")
        ranked = members.select("frame_id", "rank").unique("frame_id", maintain_order=True)
        return ranked.join(frames, on="frame_id", how="inner").sort("rank").drop("rank")

    def frame(self, commit: str, frame_id: str) -> dict[str, Any]:
        """One row of the frames table, or `UnknownFrameError`."""
        check_frame_id(frame_id)
        rows = self.frames(commit).filter(pl.col("frame_id") == frame_id)
        if rows.is_empty():
            raise UnknownFrameError(
                f"frame {frame_id!r} is not among the frames on {self.ref!r}; frame ids look "
                "like <drive_id>-<frame_index:05d>, e.g. d0000-00042"
            )
        return rows.row(0, named=True)

    def predictions(self, commit: str, frame_ids: list[str]) -> pl.DataFrame | None:
        """The fleet predictions of these frames, or None when there are none on the branch."""
        return predictions_of_ids(self.store, self.repo, commit, frame_ids)

    def image(self, commit: str, frame_id: str) -> bytes:
        """The frame's PNG, from the drive log that holds it."""
        row = self.frame(commit, frame_id)
        return self._images(commit, row["image_path"])[row["image_row"]]

    def _read(self, commit: str, path: str) -> pl.DataFrame | None:
        try:
            return read_table(self.store, self.repo, commit, path)
        except ObjectNotFoundError:
            return None

    def _read_images(self, commit: str, path: str) -> pl.Series:
        return read_table(self.store, self.repo, commit, path, ["image"]).get_column("image")


def check_slice_name(name: str) -> str:
    if not _SLICE_NAME.fullmatch(name):
        raise InvalidInputError(
            f"{name[:100]!r} is not a slice name: letters, digits, '_', '-' and '.', "
            "at most 100 characters"
        )
    return name


def check_frame_id(frame_id: str) -> str:
    if not frame_id.strip() or len(frame_id) > _MAX_FRAME_ID or not frame_id.isprintable():
        raise InvalidInputError(
            f"{frame_id[:_MAX_FRAME_ID]!r} is not a frame id: expected printable text of at "
            f"most {_MAX_FRAME_ID} characters, like d0000-00042"
        )
    return frame_id
