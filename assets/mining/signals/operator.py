"""Human flags as a signal, and a simulated operator who raises them.

An operator pages through production predictions (the review page draws the boxes at or
above its threshold) and flags a frame when something is plainly wrong: a cone without a box,
a box on nothing, a box of the wrong colour. `SimulatedOperator` does this with the fleet's
hidden truth the way a person uses their eyes: cones smaller than `min_cone_px` go unnoticed,
a wrong frame is overlooked with probability `miss_rate`, and a right one is flagged by
mistake with probability `false_flag_rate`. Its flags have the catalog's shape (frame,
reason, who) and become the `flagged` slice: score 1 for every flagged frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import polars as pl

from assets.evaluation.metrics import match
from assets.mining.signals.scores import per_frame

FLAGS = pl.Schema({"frame_id": pl.String, "reason": pl.String, "flagged_by": pl.String})
MISSED, NOTHING, COLOUR = "missed cone", "box on nothing", "wrong colour"


def wrong_frames(
    truth: pl.DataFrame,
    predictions: pl.DataFrame,
    frame_ids: Sequence[str],
    *,
    threshold: float = 0.5,
    iou: float = 0.5,
    min_cone_px: float = 0.0,
) -> pl.DataFrame:
    """(frame_id, reason) per mistake of `predictions` (at or above `threshold`) against
    `truth` boxes in `frame_ids`, matched regardless of class at `iou`: a matched pair of
    different classes is a wrong colour, an unmatched prediction a box on nothing, an
    unmatched true cone at least `min_cone_px` tall a missed cone."""
    frames = pl.Series(list(frame_ids), dtype=pl.String).implode()
    gt = truth.filter(pl.col("frame_id").is_in(frames))
    shown = predictions.filter(
        pl.col("frame_id").is_in(frames) & (pl.col("confidence") >= threshold)
    ).sort(["confidence", "frame_id"], descending=[True, False], maintain_order=True)
    matched = match(gt, shown, iou=iou)
    gt_cls, gt_frame = gt["cls"].to_list(), gt["frame_id"].to_list()
    rows = []
    for i, (fid, cls) in enumerate(zip(shown["frame_id"], shown["cls"], strict=True)):
        if matched[i] < 0:
            rows.append((fid, NOTHING))
        elif gt_cls[matched[i]] != cls:
            rows.append((fid, COLOUR))
    found = np.zeros(gt.height, bool)
    found[matched[matched >= 0]] = True
    tall = (gt["y1"] - gt["y0"]).to_numpy() >= min_cone_px
    rows += [(gt_frame[j], MISSED) for j in np.flatnonzero(~found & tall)]
    return pl.DataFrame(rows, schema={"frame_id": pl.String, "reason": pl.String}, orient="row")


class SimulatedOperator:
    """A person reviewing production predictions, with the fleet's truth as their eyes."""

    def __init__(
        self,
        fleet,
        *,
        miss_rate: float = 0.2,
        false_flag_rate: float = 0.0,
        threshold: float = 0.5,
        min_cone_px: float = 6.0,
        seed: int = 0,
        name: str = "sim-operator",
    ):
        if not (0 <= miss_rate <= 1 and 0 <= false_flag_rate <= 1):
            raise ValueError("miss_rate and false_flag_rate are probabilities")
        self.fleet = fleet
        self.miss_rate, self.false_flag_rate = miss_rate, false_flag_rate
        self.threshold, self.min_cone_px = threshold, min_cone_px
        self.seed, self.name = seed, name

    def review(self, predictions: pl.DataFrame, frame_ids: Sequence[str]) -> pl.DataFrame:
        """Flags (`FLAGS`) for the reviewed frames, one per flagged frame, in review order;
        the reason is the first mistake the operator noticed."""
        frame_ids = list(dict.fromkeys(frame_ids))
        mistakes = wrong_frames(
            self.fleet.ground_truth(frame_ids),
            predictions,
            frame_ids,
            threshold=self.threshold,
            min_cone_px=self.min_cone_px,
        )
        reasons = dict(mistakes.unique("frame_id", keep="first", maintain_order=True).iter_rows())
        rows = []
        for fid in frame_ids:
            u = self._draw(fid)
            if fid in reasons and u >= self.miss_rate:
                rows.append((fid, reasons[fid], self.name))
            elif fid not in reasons and u < self.false_flag_rate:
                rows.append((fid, "looks wrong", self.name))
        return pl.DataFrame(rows, schema=FLAGS, orient="row")

    def _draw(self, frame_id: str) -> float:
        digest = hashlib.blake2b(f"{self.seed}/{frame_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest) / 2**64


def flagged(flags: pl.DataFrame, frame_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """The `flagged` slice's scores: 1 for every flagged frame (0 for the others in
    `frame_ids`, when given)."""
    scores = flags.select("frame_id").unique().with_columns(pl.lit(1.0).alias("score"))
    return per_frame(scores, frame_ids)
