"""Applying a slice declaration to the frames table: the slice's candidates, best first.

A slice lists more candidates than its target size (up to `CANDIDATE_FACTOR` times): the
labeling queue skips frames already labeled or taken by another slice and asks for the
shortfall only. Random orders are hashes of (seed, frame id), so adding drives to the fleet
does not reshuffle the frames a sample already chose.
"""

from __future__ import annotations

import hashlib

import polars as pl

from assets.mining.registry import check_signal
from assets.slices.declarations import (
    LabelReview,
    MetadataQuery,
    ModelSignal,
    RandomSample,
    ReviewFlags,
    Similarity,
    SliceSpec,
)
from resources.tables import SLICE

CANDIDATE_FACTOR = 4


def stable_random(frame_ids: pl.Series, seed: int) -> pl.Series:
    """A uniform [0, 1) number per frame id that depends on (seed, id) only."""
    return pl.Series(
        [
            int.from_bytes(hashlib.blake2b(f"{seed}:{f}".encode(), digest_size=8).digest()) / 2**64
            for f in frame_ids.to_list()
        ],
        dtype=pl.Float64,
    )


def signal_scores(name: str, predictions: pl.DataFrame, frames: pl.DataFrame) -> pl.DataFrame:
    """(frame_id, score) for every frame of `frames`: a model signal, 0 where it is silent."""
    scorer = check_signal(name, sources=("predictions",)).score
    # Score only the frames the slice can choose from: a metadata query keeps a few percent.
    scores = scorer(predictions.join(frames.select("frame_id"), on="frame_id", how="semi"))
    return (
        frames.select("frame_id")
        .join(scores.select("frame_id", "score"), on="frame_id", how="left")
        .with_columns(pl.col("score").fill_null(0.0))
    )


def metadata_filter(query: MetadataQuery) -> pl.Expr:
    expr = pl.lit(True)
    for column, values in query.equals:
        expr = expr & pl.col(column).is_in(list(values))
    return expr


def _positive(signals: pl.DataFrame | None, column: str, spec: SliceSpec) -> pl.DataFrame:
    """(frame_id, score) of the frames where a `fleet_signals` column fired."""
    if signals is None:
        raise ValueError(f"slice {spec.name!r} ranks by fleet_signals: give the signals table")
    if column not in signals.columns:
        known = ", ".join(c for c in signals.columns if c != "frame_id")
        raise ValueError(f"slice {spec.name!r}: no signal {column!r} in fleet_signals ({known})")
    return signals.select("frame_id", pl.col(column).cast(pl.Float64).alias("score")).filter(
        pl.col("score") > 0
    )


def _similar(spec: SliceSpec, embeddings: pl.DataFrame | None, examples: list[str]) -> pl.DataFrame:
    """(frame_id, score): cosine similarity to the examples (empty without examples)."""
    from assets.mining.signals import similar_frames

    if embeddings is None:
        raise ValueError(f"slice {spec.name!r} is a similarity slice: give the embeddings")
    ids = embeddings.get_column("frame_id").to_list()
    known = set(ids)
    examples = [f for f in dict.fromkeys(examples) if f in known]
    if not examples:
        return pl.DataFrame(schema={"frame_id": pl.String, "score": pl.Float64})
    matrix = embeddings.get_column("embedding").to_numpy()
    # flags are wrong predictions of many kinds: a frame near any one of them counts
    aggregate = "nearest" if spec.selection.from_flags else "centroid"
    return similar_frames(matrix, ids, examples, aggregate=aggregate)


def select(
    spec: SliceSpec,
    frames: pl.DataFrame,
    predictions: pl.DataFrame | None = None,
    *,
    flagged: list[str] | None = None,
    signals: pl.DataFrame | None = None,
    embeddings: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The slice's candidate frames, best first (`SLICE` schema). `flagged` lists the frames
    operators flagged, oldest first (for `ReviewFlags` and flag-based `Similarity` slices);
    `signals` is the `fleet_signals` table, `embeddings` the production model's (frame_id,
    embedding) table."""
    selection = spec.selection
    if spec.needs_predictions and predictions is None:
        raise ValueError(f"slice {spec.name!r} ranks by a model signal: give the fleet predictions")
    if isinstance(selection, RandomSample):
        scored = frames.select("frame_id").with_columns(
            score=stable_random(frames.get_column("frame_id"), selection.seed)
        )
        ascending = True
    elif isinstance(selection, MetadataQuery):
        chosen = frames.filter(metadata_filter(selection))
        if selection.rank_by:
            scored = signal_scores(selection.rank_by, predictions, chosen)
            ascending = False
        else:
            scored = chosen.select("frame_id").with_columns(
                score=stable_random(chosen.get_column("frame_id"), 0)
            )
            ascending = True
    elif isinstance(selection, ModelSignal) and spec.needs_signals:
        scored, ascending = _positive(signals, selection.signal, spec), False
    elif isinstance(selection, ModelSignal):
        scored, ascending = signal_scores(selection.signal, predictions, frames), False
    elif isinstance(selection, LabelReview):
        scored, ascending = _positive(signals, "label_error", spec), False
    elif isinstance(selection, ReviewFlags):
        order = {frame: i for i, frame in enumerate(dict.fromkeys(flagged or []))}
        known = frames.filter(pl.col("frame_id").is_in(list(order)))
        scored = known.select("frame_id").with_columns(
            score=pl.col("frame_id").replace_strict(order, return_dtype=pl.Float64)
        )
        ascending = True
    elif isinstance(selection, Similarity):
        examples = list(selection.examples) + (list(flagged or []) if selection.from_flags else [])
        scored, ascending = _similar(spec, embeddings, examples), False
    else:
        raise TypeError(f"unknown selection {selection!r}")
    ranked = scored.sort(["score", "frame_id"], descending=[not ascending, False]).head(
        spec.target_size * CANDIDATE_FACTOR
    )
    return ranked.with_columns(
        pl.lit(spec.name).alias("slice"),
        pl.int_range(pl.len(), dtype=pl.Int32).alias("rank"),
        pl.col("score").cast(pl.Float32),
    ).select(list(SLICE))
