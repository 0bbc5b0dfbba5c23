"""Evaluation slices, declared once: which eval frames (a metadata filter, or frames whose
labels hold a class) × which classes are scored on them.

`green_cones` scores the green_cone class on every eval frame, not only on frames with a
green cone, so a green cone "found" on a tree counts against it; `rain` scores every class
on rainy frames. `evaluate` turns ground truth and predictions into one row per slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from assets.evaluation.metrics import detection_metrics
from resources.tables import CLASSES

RESULT = pl.Schema(
    {
        "slice": pl.String,
        "precision": pl.Float64,
        "recall": pl.Float64,
        "ap": pl.Float64,
        "frames": pl.Int64,
        "boxes": pl.Int64,
    }
)


@dataclass(frozen=True)
class EvalSlice:
    name: str
    description: str
    # metadata filter: column → accepted values, all must hold (empty = every frame)
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # label filter: keep only frames whose ground truth holds one of these classes
    has_class: tuple[str, ...] = ()
    classes: tuple[str, ...] = CLASSES

    def frame_ids(self, frames: pl.DataFrame, gt: pl.DataFrame) -> list[str]:
        selected = frames
        for column, values in self.where:
            selected = selected.filter(pl.col(column).is_in(list(values)))
        ids = selected["frame_id"]
        if self.has_class:
            labeled = gt.filter(pl.col("cls").is_in(list(self.has_class)))["frame_id"]
            ids = ids.filter(ids.is_in(labeled.implode()))
        return ids.to_list()


EVAL_SLICES: tuple[EvalSlice, ...] = (
    EvalSlice("all", "Every eval frame, every class."),
    EvalSlice("rain", "Rainy frames, every class.", where=(("weather", ("rain",)),)),
    EvalSlice("night", "Night frames, every class.", where=(("time_of_day", ("night",)),)),
    EvalSlice(
        "green_cones",
        "The green_cone class on every eval frame: misses and false alarms on trees both count.",
        classes=("green_cone",),
    ),
    EvalSlice(
        "orange_cones", "The orange_cone class on every eval frame.", classes=("orange_cone",)
    ),
)


def slice_by_name(name: str) -> EvalSlice:
    for s in EVAL_SLICES:
        if s.name == name:
            return s
    declared = ", ".join(s.name for s in EVAL_SLICES)
    raise KeyError(f"no eval slice named {name!r}; declared: {declared}")


def evaluate(
    frames: pl.DataFrame,
    gt: pl.DataFrame,
    pred: pl.DataFrame,
    slices: Sequence[EvalSlice] = EVAL_SLICES,
    *,
    iou: float = 0.5,
    score_threshold: float = 0.5,
) -> pl.DataFrame:
    """One row per slice: precision and recall at `score_threshold`, AP at `iou`, and how many
    frames and ground-truth boxes the slice holds. `frames` are the eval frames with their
    metadata (`frame_id` and the columns slices filter on); `gt` their labels."""
    rows = []
    for s in slices:
        ids = s.frame_ids(frames, gt)
        m = detection_metrics(gt, pred, ids, s.classes, iou=iou, score_threshold=score_threshold)
        rows.append((s.name, m["precision"], m["recall"], m["ap"], len(ids), m["gt_boxes"]))
    return pl.DataFrame(rows, schema=RESULT, orient="row")
