"""Building the training set from the slices and every published label batch.

The slices define it. A labeled frame belongs to every slice that asked for it and to every
slice whose current top candidates (up to its target size) hold it, so a slice edited to want
frames that are already labeled gets them at once, without a new request. Among a frame's
slices the most specific one counts (`TRAIN_ORDER`; the earliest request breaks ties): an
evaluation slice holds the frame out, any other makes it a training frame with that slice's
weight. A frame's labels are those of the latest batch that covered it (a relabel replaces,
never adds), so no frame is ever in both splits and none twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from assets.slices.declarations import SliceSpec
from resources.tables import BOXES, MANIFEST

UNREQUESTED = "unrequested"  # labels that arrived without a request (e.g. an import)
# which of a frame's slices it counts for: held out first, then the most specific
TRAIN_ORDER = {"eval": 0, "curated": 1, "signal": 2, "bootstrap": 3, "review": 4}


def slice_members(specs: Sequence[SliceSpec], tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """(frame_id, slice): each slice's current top candidates, up to its target size."""
    parts = [
        tables[spec.name].sort("rank").head(spec.target_size).select("frame_id", "slice")
        for spec in specs
        if spec.name in tables
    ]
    schema = {"frame_id": pl.String, "slice": pl.String}
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def build_training_set(
    label_frames: pl.DataFrame,
    label_boxes: pl.DataFrame,
    requests: pl.DataFrame,
    members: pl.DataFrame,
    specs: Sequence[SliceSpec],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(manifest, labels). `label_frames` are `LABELED_FRAMES` rows of every batch,
    `label_boxes` `BOXES` rows with a `batch_id` column, `requests` every `LABEL_REQUEST` row
    with its request's `requested_at`, `members` the (frame_id, slice) rows of
    `slice_members`."""
    latest = (
        label_frames.sort(["labeled_at", "batch_id"])
        .group_by("frame_id", maintain_order=True)
        .last()
        .select("frame_id", "batch_id")
    )
    roles = {s.name: s.role for s in specs}
    weights = {s.name: float(s.weight) for s in specs}
    asked = requests.sort(["requested_at", "request_id", "rank"]).select("frame_id", "slice")
    first_ask = asked.group_by("frame_id", maintain_order=True).first()
    # a request's position in time orders the memberships; current candidates come after
    memberships = pl.concat([asked, members.select("frame_id", "slice")]).with_row_index("order")
    memberships = memberships.with_columns(
        pl.col("slice")
        .replace_strict(roles, default="curated")
        .replace_strict(TRAIN_ORDER, default=TRAIN_ORDER["curated"])
        .alias("priority")
    )
    primary = (
        memberships.sort(["priority", "order"])
        .group_by("frame_id", maintain_order=True)
        .first()
        .select("frame_id", "slice")
    )
    eval_slices = [name for name, role in roles.items() if role == "eval"]
    manifest = (
        latest.join(primary, on="frame_id", how="left")
        .join(first_ask.rename({"slice": "requested_by"}), on="frame_id", how="left")
        .with_columns(
            pl.col("slice").fill_null(UNREQUESTED),
            pl.col("requested_by").fill_null(UNREQUESTED),
        )
        .with_columns(
            pl.when(pl.col("slice").is_in(eval_slices))
            .then(pl.lit("eval"))
            .otherwise(pl.lit("train"))
            .alias("split"),
            pl.col("slice")
            .replace_strict(weights, default=1.0, return_dtype=pl.Float32)
            .alias("weight"),
        )
        .select([pl.col(c).cast(t) for c, t in MANIFEST.items()])
        .sort(["split", "frame_id"])
    )
    labels = (
        label_boxes.join(latest, on=["frame_id", "batch_id"], how="semi")
        .select(list(BOXES))
        .sort(["frame_id", "x0", "y0", "x1", "y1", "cls"])
    )
    return manifest, labels


def slice_counts(manifest: pl.DataFrame) -> dict[str, int]:
    """Training frames per slice that first asked for them: what the promotion gate compares
    between two models (stable when a new model re-ranks the slices)."""
    train = manifest.filter(pl.col("split") == "train")
    return dict(train.group_by("requested_by").len().sort("requested_by").rows())
