"""Label errors: labeled boxes a model contradicts with confidence, confident-learning style.

Given a label set and a model's predictions on the same frames (out-of-sample ones are best:
see `cross_predictions`), every labeled box gets the model's confidence for its labeled class
there (its *self-confidence*) and for the other class; every confident prediction gets the
label box it lands on. As in confident learning, "confident" is per class: the average
self-confidence of that class's labeled boxes, so a model that is shy about green cones still
counts its green-cone votes. Four kinds of issue, each scored in [0, 1]:

- `missing`: a prediction at or above its class threshold that no labeled box overlaps
  (the labeler overlooked a cone). Score: its confidence.
- `wrong_class`: a labeled box the model confidently gives the other class, more than the
  labeled one (a colour swap). Score: the other class's confidence minus the labeled one's.
- `spurious`: a labeled box the model sees nothing at, while it sees boxes of that size and
  class well (a tree boxed as a cone). Score: how far its best overlapping confidence falls
  below the class threshold, as a share of it, times the model's recall at that box height.
- `loose`: a labeled box a confident prediction of its class overlaps only partly (IoU between
  `loose_iou` and `iou`): drawn too big or off-centre. Score: the confidence times the gap.

A frame's score is its worst issue. The model is no oracle: its own mistakes become issues
too, which is why the ranking, not a hard verdict, goes back to the labelers for review.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from assets.evaluation.metrics import CORNERS
from assets.mining.signals.boxes import overlaps
from assets.mining.signals.scores import per_frame

ISSUES = pl.Schema(
    {
        "frame_id": pl.String,
        "kind": pl.String,  # missing | wrong_class | spurious | loose
        "cls": pl.String,  # the labeled class (the predicted one for `missing`)
        "x0": pl.Float32,  # the labeled box (the predicted one for `missing`)
        "y0": pl.Float32,
        "x1": pl.Float32,
        "y1": pl.Float32,
        "score": pl.Float32,
    }
)
HEIGHT_BINS = (0.0, 6.0, 8.0, 12.0, 20.0, float("inf"))  # px: far … very near
SEEN_IOU = 0.1  # a prediction touching a labeled box at all
LOOSE_RATIO = 1.25  # labeled box area over predicted: a model's own boxes vary about this much


def label_errors(
    labels: pl.DataFrame,
    predictions: pl.DataFrame,
    frame_ids: Sequence[str],
    *,
    context: pl.DataFrame | None = None,
    iou: float = 0.5,
) -> pl.DataFrame:
    """(frame_id, score) for every labeled frame in `frame_ids`: its worst label issue."""
    issues = label_issues(labels, predictions, frame_ids, context=context, iou=iou)
    worst = issues.group_by("frame_id").agg(pl.col("score").max())
    return per_frame(worst, frame_ids)


def label_issues(
    labels: pl.DataFrame,
    predictions: pl.DataFrame,
    frame_ids: Sequence[str],
    *,
    context: pl.DataFrame | None = None,
    iou: float = 0.5,
) -> pl.DataFrame:
    """Every suspected label issue in the labeled frames `frame_ids` (`ISSUES`), worst first.
    `labels` are `BOXES` rows (a listed frame without boxes holds no cone), `predictions`
    `PREDICTIONS` rows, ideally down to low confidences. `context` (frame_id and metadata
    columns, e.g. weather) splits the calibration: a model that takes reflections for cones
    in the rain is trusted less in the rain, not everywhere."""
    frames = pl.DataFrame({"frame_id": list(frame_ids)}, schema={"frame_id": pl.String})
    if context is None:
        frames = frames.with_columns(pl.lit("").alias("context"))
    else:
        key = pl.concat_str(pl.exclude("frame_id").cast(pl.String), separator="/")
        groups = context.select("frame_id", key.alias("context"))
        frames = frames.join(groups, on="frame_id", how="left").with_columns(
            pl.col("context").fill_null("")
        )
    labels = (
        labels.join(frames, on="frame_id")
        .with_row_index("label")
        .with_columns((pl.col("y1") - pl.col("y0")).alias("height"))
    )
    predictions = predictions.join(frames, on="frame_id").with_row_index("pred")
    pairs = overlaps(
        labels, predictions.drop("context").rename({"cls": "pred_cls"}), min_iou=SEEN_IOU
    )
    precision = _precision(predictions, pairs, iou)
    votes = _votes(labels, pairs, iou)
    issues = [
        _missing(predictions, pairs, precision),
        _wrong_class(votes, precision),
        _spurious(votes),
        _loose(labels, pairs, precision),
    ]
    return (
        pl.concat([i.select(ISSUES.names()).cast(dict(ISSUES)) for i in issues])
        .filter(pl.col("score") > 0)
        .sort(["score", "frame_id"], descending=[True, False])
    )


def _calibrated(rows: pl.DataFrame, score: str, hit: str, by: list[str]) -> pl.DataFrame:
    """`rows` with `precision`: the share of hits among the rows of their group scoring at
    least as high, made monotone as in a precision-recall curve (the best precision at this
    score or any lower one), so a few misses at the very top do not sink the top. Labels are
    mostly right, so against them this says how far the model can be trusted at that score."""
    share = pl.col(hit).cast(pl.Float64).cum_sum().over(by) / pl.int_range(1, pl.len() + 1).over(by)
    return (
        rows.sort(score, descending=True)
        .with_columns(share.alias("precision"))
        # equal scores get the same precision: the one after the last of them
        .with_columns(pl.col("precision").last().over([*by, score]))
        .with_columns(pl.col("precision").reverse().cum_max().reverse().over(by))
    )


def _precision(predictions: pl.DataFrame, pairs: pl.DataFrame, iou: float) -> pl.DataFrame:
    """Per prediction, the model's precision at its confidence: the share of predictions of
    its class at least as confident that hit a labeled box of that class."""
    hits = pairs.filter((pl.col("pred_cls") == pl.col("cls")) & (pl.col("iou") >= iou))
    found = predictions.with_columns(pl.col("pred").is_in(hits["pred"].implode()).alias("hit"))
    return _calibrated(found, "confidence", "hit", ["cls", "context"]).select("pred", "precision")


def _class_precision(votes: pl.DataFrame) -> pl.DataFrame:
    """Per labeled box with a vote for another class, how often the labels side with a class
    given that class's share of the votes (`share`, the other class's): the model's colour
    calls, calibrated on the labels."""
    voted = votes.filter(pl.col("own") + pl.col("other") > 0)
    total = pl.col("own") + pl.col("other")
    rows = pl.concat(
        [
            voted.select(
                "label",
                "cls",
                "context",
                (pl.col("own") / total).alias("share"),
                pl.lit(True).alias("hit"),
            ),
            voted.filter(pl.col("other") > 0).select(
                "label",
                pl.col("other_cls").alias("cls"),
                "context",
                (pl.col("other") / total).alias("share"),
                pl.lit(False).alias("hit"),
            ),
        ]
    )
    calibrated = _calibrated(rows, "share", "hit", ["cls", "context"]).filter(~pl.col("hit"))
    return calibrated.select("label", pl.col("precision").alias("class_precision"))


def _votes(labels: pl.DataFrame, pairs: pl.DataFrame, iou: float) -> pl.DataFrame:
    """Per labeled box: the best confidence for its own class (`own`) and for another class
    (`other`, and which) among predictions overlapping it by `iou`, and the best confidence of
    any prediction touching it at all (`seen`)."""
    close = pairs.filter(pl.col("iou") >= iou)
    own = (
        close.filter(pl.col("pred_cls") == pl.col("cls"))
        .group_by("label")
        .agg(pl.col("confidence").max().alias("own"))
    )
    other = (
        close.filter(pl.col("pred_cls") != pl.col("cls"))
        .sort("confidence", descending=True)
        .group_by("label", maintain_order=True)
        .agg(
            pl.col("confidence").first().alias("other"),
            pl.col("pred_cls").first().alias("other_cls"),
            pl.col("pred").first(),
        )
    )
    seen = pairs.group_by("label").agg(pl.col("confidence").max().alias("seen"))
    return (
        labels.join(own, on="label", how="left")
        .join(other, on="label", how="left")
        .join(seen, on="label", how="left")
        .with_columns(pl.col("own", "other", "seen").fill_null(0.0))
    )


def _missing(predictions, pairs, precision) -> pl.DataFrame:
    # any overlap with a labeled box counts as covered: a loose or mis-classed label is
    # another issue, not a missing one
    covered = pairs["pred"].unique().implode()
    return (
        predictions.filter(~pl.col("pred").is_in(covered))
        .join(precision, on="pred")
        .with_columns(pl.lit("missing").alias("kind"), pl.col("precision").alias("score"))
    )


def _wrong_class(votes, precision) -> pl.DataFrame:
    # P(something is there) x P(it is of the other class), both calibrated on the labels
    return (
        votes.filter(pl.col("other") > pl.col("own"))
        .join(precision, on="pred")
        .join(_class_precision(votes), on="label")
        .with_columns(
            pl.lit("wrong_class").alias("kind"),
            (pl.col("precision") * pl.col("class_precision")).alias("score"),
        )
    )


def _spurious(votes) -> pl.DataFrame:
    # confident learning's per-class threshold: the average confidence the model gives the
    # labeled boxes of a class; a box seen far below it is in doubt, and more so where the
    # model reliably sees boxes of that size (a far cone it misses says little)
    threshold = pl.col("seen").mean().over("cls", "context")
    binned = votes.with_columns(_height_bin(), threshold.alias("threshold"))
    recall = binned.group_by("cls", "context", "bin").agg(
        (pl.col("seen") >= pl.col("threshold")).mean().alias("recall")
    )
    shortfall = (1 - pl.col("seen") / pl.col("threshold")).clip(0, 1)
    return binned.join(recall, on=["cls", "context", "bin"]).with_columns(
        pl.lit("spurious").alias("kind"), (pl.col("recall") * shortfall).alias("score")
    )


def _height_bin() -> pl.Expr:
    """Index of the `HEIGHT_BINS` interval holding the box's height."""
    return pl.sum_horizontal(pl.col("height") >= edge for edge in HEIGHT_BINS[1:-1]).alias("bin")


def _loose(labels, pairs, precision) -> pl.DataFrame:
    same = pairs.filter(pl.col("pred_cls") == pl.col("cls")).join(precision, on="pred")
    # the best trusted prediction of the labeled class on each labeled box
    best = (
        same.with_columns((pl.col("precision") * pl.col("iou")).alias("fit"))
        .sort("fit", descending=True)
        .group_by("label", maintain_order=True)
        .first()
    )
    # a loose box holds the object with room to spare: the prediction sits inside it and is
    # much smaller; a model's own size errors go both ways and are rarely that large
    area = (pl.col("x1") - pl.col("x0")) * (pl.col("y1") - pl.col("y0"))
    area_b = (pl.col("x1_b") - pl.col("x0_b")) * (pl.col("y1_b") - pl.col("y0_b"))
    w = pl.min_horizontal("x1", "x1_b") - pl.max_horizontal("x0", "x0_b")
    h = pl.min_horizontal("y1", "y1_b") - pl.max_horizontal("y0", "y0_b")
    inside = w.clip(lower_bound=0) * h.clip(lower_bound=0) / area_b
    room = ((area / area_b - LOOSE_RATIO) / LOOSE_RATIO).clip(0, 1)
    return best.with_columns(
        pl.lit("loose").alias("kind"), (pl.col("precision") * inside * room).alias("score")
    )


def matched_errors(issues: pl.DataFrame, errors: pl.DataFrame, *, iou: float = 0.3) -> pl.DataFrame:
    """For scoring against a simulator's error log (`ERRORS`): each error with `found` = some
    issue in its frame overlaps the error's true box by `iou` (any kind)."""
    found = overlaps(
        errors.with_row_index("error"), issues.select("frame_id", *CORNERS), min_iou=iou
    )
    hit = np.zeros(errors.height, bool)
    hit[found["error"].unique().to_numpy()] = True
    return errors.with_columns(pl.Series("found", hit))
