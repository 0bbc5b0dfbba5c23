"""Pixels for a set of frames, read from the drive logs that hold them at one commit."""

from __future__ import annotations

import numpy as np
import polars as pl

from resources.storage import read_table
from resources.versioning import VersionedStore


def load_images(store: VersionedStore, repo: str, ref: str, frames: pl.DataFrame) -> np.ndarray:
    """(N, H, W, 3) uint8 images of `frames` (needs `image_path`, `image_row`), in its order."""
    from resources.detection import decode_images  # torch: imported when used

    if frames.is_empty():
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    order = frames.select("image_path", "image_row").with_row_index("position")
    pngs: list[bytes] = [b""] * frames.height
    for (path,), group in order.group_by(["image_path"], maintain_order=True):
        column = read_table(store, repo, ref, path, ["image"]).get_column("image")
        for position, row in zip(
            group["position"].to_list(), group["image_row"].to_list(), strict=True
        ):
            pngs[position] = column[row]
    return decode_images(pngs)
