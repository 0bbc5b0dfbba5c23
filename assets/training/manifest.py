"""Building the training set from every published label batch.

A frame's labels are those of the latest batch that covered it (a relabel replaces, never
adds); its split follows the slice that asked for it: frames requested by an evaluation slice
are held out, everything else is trained on, so no frame is ever in both.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from resources.tables import BOXES, MANIFEST

UNREQUESTED = "unrequested"  # labels that arrived without a request (e.g. an import)


def build_training_set(
    label_frames: pl.DataFrame,
    label_boxes: pl.DataFrame,
    requests: pl.DataFrame,
    roles: Mapping[str, str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(manifest, labels): `label_frames` are `LABELED_FRAMES` rows of every batch, `label_boxes`
    `BOXES` rows with a `batch_id` column, `requests` every `LABEL_REQUEST` row, `roles` maps a
    slice name to its role."""
    latest = (
        label_frames.sort(["labeled_at", "batch_id"])
        .group_by("frame_id", maintain_order=True)
        .last()
        .select("frame_id", "batch_id")
    )
    asked = requests.group_by("frame_id", maintain_order=True).first().select("frame_id", "slice")
    eval_slices = [name for name, role in roles.items() if role == "eval"]
    manifest = (
        latest.join(asked, on="frame_id", how="left")
        .with_columns(pl.col("slice").fill_null(UNREQUESTED))
        .with_columns(
            pl.when(pl.col("slice").is_in(eval_slices))
            .then(pl.lit("eval"))
            .otherwise(pl.lit("train"))
            .alias("split")
        )
        .select(list(MANIFEST))
        .sort(["split", "frame_id"])
    )
    labels = (
        label_boxes.join(latest, on=["frame_id", "batch_id"], how="semi")
        .select(list(BOXES))
        .sort(["frame_id", "x0", "y0"])
    )
    return manifest, labels


def slice_counts(manifest: pl.DataFrame) -> dict[str, int]:
    """Training frames per slice: what the promotion gate compares between two models."""
    train = manifest.filter(pl.col("split") == "train")
    return dict(train.group_by("slice").len().sort("slice").rows())
