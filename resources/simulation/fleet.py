"""The simulated fleet: drive logs as vehicles upload them, and the hidden truth behind them.

`drive_log` is all the outside world sees (one row per frame in `DRIVE_LOG` schema, PNG
images). `ground_truth`, `frame_facts` and `confusers` are hidden: only the simulated labelers,
tests and benchmarks call them, the way only a labeling team knows what is really in a frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

import numpy as np
import polars as pl

from resources.simulation.config import FleetConfig
from resources.simulation.png import encode_png
from resources.simulation.render import render_drive
from resources.simulation.world import (
    GREEN,
    KIND_NAMES,
    ORANGE,
    TREE,
    Drive,
    View,
    drive_number,
    make_drive,
    views,
    zone_at,
)
from resources.tables import BOXES, DRIVE_LOG, conform, frame_id

FRAME_FACTS = pl.Schema(
    {
        "frame_id": pl.String,
        "drive_id": pl.String,
        "frame_index": pl.Int32,
        "weather": pl.String,
        "time_of_day": pl.String,
        "rain": pl.Float32,  # rain intensity, 0 when dry
        "zone": pl.String,  # plain | cones | construction | trees
        "orange_cones": pl.Int32,  # labeled (big and visible enough) boxes
        "green_cones": pl.Int32,
        "confusers": pl.Int32,  # trees big enough to be mistaken for a cone
        "glare": pl.Boolean,
        "occlusion": pl.Boolean,
        "min_cone_px": pl.Float32,  # height of the smallest labeled cone, NaN when none
    }
)


class Fleet:
    def __init__(self, config: FleetConfig | None = None):
        self.config = config or FleetConfig()
        c = self.config
        self.drive_ids: list[str] = [f"d{c.first_drive + i:04d}" for i in range(c.drives)]
        self._known = set(self.drive_ids)
        self._drive = lru_cache(maxsize=4096)(self._make_drive)

    def __repr__(self) -> str:
        return f"Fleet({self.config!r})"

    def frame_ids(self, drive_ids: Iterable[str] | None = None) -> list[str]:
        ids = self.drive_ids if drive_ids is None else list(drive_ids)
        return [frame_id(d, i) for d in ids for i in range(self.config.frames_per_drive)]

    def drive_log(self, drive_id: str) -> pl.DataFrame:
        """One drive as uploaded: one row per frame, `DRIVE_LOG` schema, PNG images."""
        drive = self._drive(drive_id)
        size = self.config.image_size
        images = render_drive(drive, size, self.config.seed)
        frames = range(drive.frames)
        return conform(
            pl.DataFrame(
                {
                    "drive_id": [drive_id] * drive.frames,
                    "frame_index": list(frames),
                    "timestamp": [drive.timestamp(t) for t in frames],
                    "weather": [drive.conditions.weather] * drive.frames,
                    "time_of_day": [drive.conditions.time_of_day] * drive.frames,
                    "speed_mps": drive.speed,
                    "latitude": drive.latitude,
                    "longitude": drive.longitude,
                    "width": [size] * drive.frames,
                    "height": [size] * drive.frames,
                    "image": [encode_png(image) for image in images],
                },
                schema_overrides={"timestamp": DRIVE_LOG["timestamp"]},
            ),
            DRIVE_LOG,
        )

    def ground_truth(self, frame_ids: Sequence[str]) -> pl.DataFrame:
        """Every labeled cone in the given frames (`BOXES` schema, clipped to the image)."""
        return self._boxes(frame_ids, kinds=(ORANGE, GREEN))

    def confusers(self, frame_ids: Sequence[str]) -> pl.DataFrame:
        """The trees in the given frames as boxes with `cls = "tree"`: never labeled, but a
        benchmark can tell a false positive on a tree from one on empty road."""
        return self._boxes(frame_ids, kinds=(TREE,))

    def frame_facts(self, frame_ids: Sequence[str]) -> pl.DataFrame:
        rows = []
        size = self.config.image_size
        for fid, drive, t, seen in self._seen(frame_ids):
            big = _clip(seen.box, size)
            labeled = seen.labeled
            tree = (seen.kind == TREE) & (big[:, 3] - big[:, 1] >= 4.0)
            heights = (big[:, 3] - big[:, 1])[labeled]
            rows.append(
                (
                    fid,
                    drive.drive_id,
                    t,
                    drive.conditions.weather,
                    drive.conditions.time_of_day,
                    drive.conditions.rain,
                    zone_at(drive, t),
                    int(np.sum(labeled & (seen.kind == ORANGE))),
                    int(np.sum(labeled & (seen.kind == GREEN))),
                    int(np.sum(tree)),
                    bool(drive.glare[t]),
                    bool(drive.occlusion[t]),
                    float(heights.min()) if len(heights) else float("nan"),
                )
            )
        return pl.DataFrame(rows, schema=FRAME_FACTS, orient="row")

    def _boxes(self, frame_ids: Sequence[str], kinds: tuple[int, ...]) -> pl.DataFrame:
        size = self.config.image_size
        ids, coords, classes = [], [], []
        for fid, _, _, seen in self._seen(frame_ids):
            keep = np.isin(seen.kind, kinds)
            keep &= seen.labeled if TREE not in kinds else seen.kind == TREE
            for box, kind in zip(_clip(seen.box[keep], size), seen.kind[keep], strict=True):
                ids.append(fid)
                coords.append(box)
                classes.append(KIND_NAMES[int(kind)])
        xy = np.array(coords, dtype=np.float32).reshape(-1, 4)
        return conform(
            pl.DataFrame(
                {
                    "frame_id": ids,
                    "x0": xy[:, 0],
                    "y0": xy[:, 1],
                    "x1": xy[:, 2],
                    "y1": xy[:, 3],
                    "cls": classes,
                },
                schema_overrides={"frame_id": pl.String, "cls": pl.String},
            ),
            BOXES,
        )

    def _seen(self, frame_ids: Sequence[str]) -> Iterator[tuple[str, Drive, int, View]]:
        """(frame id, drive, frame index, view) per frame, in order; projected per drive."""
        located = [(fid, *self._locate(fid)) for fid in frame_ids]
        by_drive: dict[str, list[int]] = {}
        for _, drive, t in located:
            by_drive.setdefault(drive.drive_id, []).append(t)
        seen = {
            (drive_id, t): v
            for drive_id, frames in by_drive.items()
            for t, v in zip(
                frames, views(self._drive(drive_id), self.config.image_size, frames), strict=True
            )
        }
        for fid, drive, t in located:
            yield fid, drive, t, seen[drive.drive_id, t]

    def _locate(self, fid: str) -> tuple[Drive, int]:
        drive_id, _, index = fid.partition("-")
        if drive_id not in self._known or not index.isdigit():
            raise KeyError(f"frame {fid!r} is not in this fleet ({len(self.drive_ids)} drives)")
        t = int(index)
        if t >= self.config.frames_per_drive:
            raise KeyError(f"frame {fid!r}: drives have {self.config.frames_per_drive} frames")
        return self._drive(drive_id), t

    def _make_drive(self, drive_id: str) -> Drive:
        if drive_id not in self._known:
            n = len(self.drive_ids)
            raise KeyError(f"drive {drive_id!r} is not in this fleet ({n} drives)")
        return make_drive(self.config, drive_number(drive_id))


def _clip(box: np.ndarray, size: int) -> np.ndarray:
    return np.clip(box, 0, size).astype(np.float32)
