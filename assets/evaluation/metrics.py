"""Detection metrics on `BOXES` / `PREDICTIONS` tables: precision, recall and AP at IoU 0.5,
and the confusion between orange cones, green cones and everything else.

Matching is PASCAL VOC's: per class, predictions in decreasing confidence each take the
unmatched ground-truth box of the same frame they overlap most, if IoU >= the threshold;
otherwise they are false positives. AP is the all-point interpolated area under the
precision-recall curve. Pure polars / numpy: no model, no store.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from resources.tables import CLASSES

NO_CONE = "no_cone"
CORNERS = ("x0", "y0", "x1", "y1")
MISSED = "missed"


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, 4) × (m, 4) boxes → (n, m) intersection over union."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match(gt: pl.DataFrame, pred: pl.DataFrame, *, iou: float = 0.5) -> np.ndarray:
    """Greedy matching: for each prediction (in `pred`'s row order, which must be by decreasing
    confidence) the index of the ground-truth row it matches, or -1. A prediction takes the
    unmatched ground-truth box of its frame that it overlaps most, if IoU >= `iou`."""
    result = np.full(pred.height, -1, np.int64)
    if pred.height == 0 or gt.height == 0:
        return result
    pairs = (
        pred.select("frame_id", *CORNERS)
        .with_row_index("p")
        .join(
            gt.select("frame_id", *CORNERS).with_row_index("g"),
            on="frame_id",
            suffix="_g",
        )
        .with_columns(box_iou("_g").alias("iou"))
        .filter(pl.col("iou") >= iou)
        .sort(["p", "iou", "g"], descending=[False, True, False])
    )
    taken = np.zeros(gt.height, bool)
    for p, g in zip(pairs["p"].to_list(), pairs["g"].to_list(), strict=True):
        if result[p] < 0 and not taken[g]:
            result[p] = g
            taken[g] = True
    return result


def box_iou(suffix: str, base: str = "") -> pl.Expr:
    """IoU of the boxes (x0<base>, …) and (x0<suffix>, …) of each row of a joined table."""
    a0, b0, a1, b1 = (pl.col(f"{c}{base}") for c in CORNERS)
    x0, y0, x1, y1 = (pl.col(f"{c}{suffix}") for c in CORNERS)
    w = pl.min_horizontal(a1, x1) - pl.max_horizontal(a0, x0)
    h = pl.min_horizontal(b1, y1) - pl.max_horizontal(b0, y0)
    inter = w.clip(lower_bound=0) * h.clip(lower_bound=0)
    union = (a1 - a0) * (b1 - b0) + (x1 - x0) * (y1 - y0) - inter
    return pl.when(union > 0).then(inter / union).otherwise(0.0)


def average_precision(tp: np.ndarray, n_gt: int) -> float:
    """All-point interpolated AP of a ranked list of hits (True = true positive)."""
    if n_gt == 0:
        return float("nan")
    if len(tp) == 0:
        return 0.0
    tps = np.cumsum(tp)
    recall = tps / n_gt
    precision = tps / np.arange(1, len(tp) + 1)
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]  # precision envelope
    steps = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def detection_metrics(
    gt: pl.DataFrame,
    pred: pl.DataFrame,
    frame_ids: Sequence[str],
    classes: Sequence[str] = CLASSES,
    *,
    iou: float = 0.5,
    score_threshold: float = 0.5,
) -> dict[str, float | int | dict[str, float]]:
    """Precision and recall at `score_threshold` (pooled over classes), AP per class and its
    mean over the classes present in `gt`, and counts; on the given frames only."""
    frames = pl.Series("frame_id", list(frame_ids), dtype=pl.String).implode()
    gt = gt.filter(pl.col("frame_id").is_in(frames) & pl.col("cls").is_in(list(classes)))
    pred = pred.filter(pl.col("frame_id").is_in(frames) & pl.col("cls").is_in(list(classes)))
    per_class: dict[str, float] = {}
    tp_at, fp_at = 0, 0
    for cls in classes:
        g = gt.filter(pl.col("cls") == cls)
        p = pred.filter(pl.col("cls") == cls).sort(
            ["confidence", "frame_id"], descending=[True, False], maintain_order=True
        )
        hits = match(g, p, iou=iou) >= 0
        above = p["confidence"].to_numpy() >= score_threshold
        tp_at += int(np.sum(hits & above))
        fp_at += int(np.sum(~hits & above))
        if g.height:
            per_class[cls] = average_precision(hits, g.height)
    n_gt = gt.height
    return {
        "precision": tp_at / (tp_at + fp_at) if tp_at + fp_at else float("nan"),
        "recall": tp_at / n_gt if n_gt else float("nan"),
        "ap": float(np.mean(list(per_class.values()))) if per_class else float("nan"),
        "ap_per_class": per_class,
        "gt_boxes": n_gt,
        "predicted_boxes": tp_at + fp_at,
        "true_positives": tp_at,
        "false_positives": fp_at,
        "false_negatives": n_gt - tp_at,
        "frames": len(set(frame_ids)),
    }


def confusion_matrix(
    gt: pl.DataFrame,
    pred: pl.DataFrame,
    frame_ids: Sequence[str],
    classes: Sequence[str] = CLASSES,
    *,
    iou: float = 0.5,
    score_threshold: float = 0.5,
    confusers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Counts of true class × predicted class, matching boxes regardless of class.

    Rows: each class, then `no_cone` (a prediction on nothing labeled); when `confusers`
    boxes are given (e.g. trees), predictions overlapping one are counted on a row named
    after its class instead. Columns: `true`, one per predicted class, and `missed`
    (a labeled cone no prediction at or above the threshold overlaps)."""
    frames = pl.Series("frame_id", list(frame_ids), dtype=pl.String).implode()
    gt = gt.filter(pl.col("frame_id").is_in(frames) & pl.col("cls").is_in(list(classes)))
    pred = pred.filter(
        pl.col("frame_id").is_in(frames)
        & pl.col("cls").is_in(list(classes))
        & (pl.col("confidence") >= score_threshold)
    ).sort(["confidence", "frame_id"], descending=[True, False], maintain_order=True)
    matched = match(gt, pred, iou=iou)
    rows = [*classes, NO_CONE]
    counts = {r: dict.fromkeys([*classes, MISSED], 0) for r in rows}
    gt_cls = gt["cls"].to_list()
    pred_cls = pred["cls"].to_list()
    on_confuser = _confuser_rows(pred, matched, frames, confusers, iou)
    for i, m in enumerate(matched):
        truth = gt_cls[m] if m >= 0 else on_confuser[i] or NO_CONE
        counts.setdefault(truth, dict.fromkeys([*classes, MISSED], 0))
        counts[truth][pred_cls[i]] += 1
    hit = np.zeros(gt.height, bool)
    hit[matched[matched >= 0]] = True
    for j, cls in enumerate(gt_cls):
        if not hit[j]:
            counts[cls][MISSED] += 1
    return pl.DataFrame(
        [{"true": r, **counts[r]} for r in counts],
        schema={"true": pl.String, **dict.fromkeys([*classes, MISSED], pl.Int64)},
    )


def _confuser_rows(pred, matched, frames, confusers, iou) -> list[str | None]:
    """For each unmatched prediction, the class of a confuser box it overlaps, else None."""
    found: list[str | None] = [None] * pred.height
    if confusers is None or confusers.height == 0:
        return found
    confusers = confusers.filter(pl.col("frame_id").is_in(frames))
    by_frame = {fid[0]: rows for fid, rows in confusers.group_by("frame_id")}
    boxes = pred.select("x0", "y0", "x1", "y1").to_numpy().astype(np.float64)
    for i, fid in enumerate(pred["frame_id"].to_list()):
        rows = by_frame.get(fid)
        if matched[i] >= 0 or rows is None:
            continue
        overlaps = iou_matrix(boxes[i : i + 1], rows.select("x0", "y0", "x1", "y1").to_numpy())[0]
        if overlaps.max() >= iou:
            found[i] = rows["cls"][int(np.argmax(overlaps))]
    return found
