"""Similarity mining: frames nearest to the examples' shared direction, by cosine."""

from __future__ import annotations

import numpy as np
import pytest

from assets.mining.signals import similar_frames


@pytest.fixture
def embeddings() -> tuple[np.ndarray, list[str]]:
    ids = ["e1", "e2", "twin", "half", "far", "opposite"]
    x = np.array(
        [
            [1.0, 1.0, 0.0],  # e1: the shared feature (axis 0) and its own scene (axis 1)
            [1.0, -1.0, 0.0],  # e2: the shared feature and the other scene
            [2.0, 0.0, 0.0],  # twin: the shared feature alone
            [1.0, 0.0, 1.0],  # half
            [0.0, 0.0, 1.0],  # far
            [-1.0, 0.0, 0.0],  # opposite
        ]
    )
    return x, ids


def test_frames_rank_by_cosine_to_the_examples_mean_direction(embeddings):
    x, ids = embeddings
    scores = similar_frames(x, ids, ["e1", "e2"], center=False)
    assert scores["frame_id"].to_list() == ["twin", "half", "far", "opposite"]
    assert scores["score"].to_list() == pytest.approx([1.0, 2**-0.5, 0.0, -1.0], abs=1e-6)


def test_nearest_scores_by_the_closest_single_example(embeddings):
    x, ids = embeddings
    scores = dict(similar_frames(x, ids, ["e1"], center=False, aggregate="nearest").iter_rows())
    assert scores["twin"] == pytest.approx(2**-0.5, abs=1e-6)
    assert scores["e2"] == pytest.approx(0.0, abs=1e-6)


def test_candidates_limit_the_pool_and_examples_must_exist(embeddings):
    x, ids = embeddings
    scores = similar_frames(x, ids, ["e1", "e2"], candidates=["far", "twin"], center=False)
    assert scores["frame_id"].to_list() == ["far", "twin"]
    with pytest.raises(KeyError, match="without an embedding"):
        similar_frames(x, ids, ["nope"])
    with pytest.raises(ValueError, match="at least one example"):
        similar_frames(x, ids, [])


def test_centring_removes_what_every_frame_shares():
    rng = np.random.default_rng(0)
    common = np.full((200, 8), 5.0)  # non-negative pooled features: every frame looks alike
    x = common + rng.normal(0, 0.3, (200, 8))
    x[:20, 3] += 4.0  # twenty frames share one distinctive feature
    ids = [f"f{i:03d}" for i in range(200)]
    scores = similar_frames(x, ids, ids[:3]).sort("score", descending=True)
    assert set(scores["frame_id"].head(17)) == set(ids[3:20])
