"""Per-frame scores: aligned on the frames asked about, ranked reproducibly, judged fairly."""

from __future__ import annotations

import polars as pl
import pytest

from assets.mining.signals.scores import (
    SCORES,
    per_frame,
    precision_at_k,
    random_precision,
    random_sample,
    ranked,
    top_k,
)


@pytest.fixture
def scores() -> pl.DataFrame:
    return pl.DataFrame({"frame_id": ["c", "a", "b", "d"], "score": [0.5, 0.9, 0.5, 0.0]})


def test_per_frame_follows_the_frames_asked_about_and_fills_zero(scores):
    out = per_frame(scores, ["d", "x", "a"])
    assert out.schema == SCORES
    assert out.rows() == [("d", 0.0), ("x", 0.0), ("a", pytest.approx(0.9))]
    assert per_frame(scores)["frame_id"].to_list() == ["a", "b", "c", "d"]


def test_ties_rank_by_frame_id(scores):
    assert ranked(scores)["frame_id"].to_list() == ["a", "b", "c", "d"]
    assert top_k(scores, 2) == ["a", "b"]


def test_precision_at_k_counts_hard_frames_among_the_best(scores):
    assert precision_at_k(scores, {"a", "c"}, 2) == 0.5
    assert precision_at_k(scores, {"a", "c"}, 3) == pytest.approx(2 / 3)


def test_random_sample_is_seeded_and_stable_when_the_pool_grows():
    pool = [f"f{i:03d}" for i in range(100)]
    first = random_sample(pool, 10, seed=3)
    assert first == random_sample(list(reversed(pool)), 10, seed=3)
    assert first != random_sample(pool, 10, seed=4)
    grown = random_sample([*pool, *(f"g{i:03d}" for i in range(100))], 200, seed=3)
    assert [f for f in grown if f in set(pool)][:10] == first
    assert random_precision(pool, set(pool[:50]), 100) == 0.5
