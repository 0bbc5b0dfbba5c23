"""Per-frame scores, the common currency of every failure-finding signal: a `(frame_id, score)`
table, higher = more worth a look. Also how a ranking is judged when the truth is known
(precision at k against a random sample of the same pool), for tests and benchmarks."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

import polars as pl

SCORES = pl.Schema({"frame_id": pl.String, "score": pl.Float32})


def per_frame(scores: pl.DataFrame, frame_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """`scores` (frame_id, score) on exactly `frame_ids`, in their order, 0 where missing;
    without `frame_ids`, on the frames that have a score, sorted by frame id."""
    scores = scores.select("frame_id", pl.col("score").cast(pl.Float32))
    if frame_ids is None:
        return scores.sort("frame_id")
    frames = pl.DataFrame({"frame_id": list(frame_ids)}, schema={"frame_id": pl.String})
    return frames.join(scores, on="frame_id", how="left", maintain_order="left").with_columns(
        pl.col("score").fill_null(0.0)
    )


def ranked(scores: pl.DataFrame) -> pl.DataFrame:
    """Best first; ties in frame-id order, so a ranking is reproducible."""
    return scores.sort(["score", "frame_id"], descending=[True, False])


def top_k(scores: pl.DataFrame, k: int) -> list[str]:
    return ranked(scores).get_column("frame_id").head(k).to_list()


def precision_at_k(scores: pl.DataFrame, hard: Collection[str], k: int) -> float:
    """Share of the `k` best-scored frames that are in `hard`."""
    best = top_k(scores, k)
    hard = set(hard)
    return sum(f in hard for f in best) / len(best) if best else float("nan")


def random_sample(pool: Sequence[str], k: int, seed: int = 0) -> list[str]:
    """`k` frames of `pool` in a random order that depends on (seed, frame id) only."""
    key = {f: hashlib.blake2b(f"{seed}:{f}".encode(), digest_size=8).digest() for f in pool}
    return sorted(pool, key=key.__getitem__)[:k]


def random_precision(pool: Sequence[str], hard: Collection[str], k: int, seed: int = 0) -> float:
    """Share of hard frames in a random sample of `k` frames of `pool`."""
    sample = random_sample(pool, k, seed)
    hard = set(hard)
    return sum(f in hard for f in sample) / len(sample) if sample else float("nan")
