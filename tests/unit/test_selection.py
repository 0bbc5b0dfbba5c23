"""Applying slice declarations to the frames table."""

from __future__ import annotations

import polars as pl
import pytest

from assets.slices.declarations import MetadataQuery, ModelSignal, RandomSample, SliceSpec
from assets.slices.selection import CANDIDATE_FACTOR, select
from resources.tables import PREDICTIONS, SLICE


def fleet(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "frame_id": [f"d0000-{i:05d}" for i in range(n)],
            "weather": ["rain" if i % 4 == 0 else "clear" for i in range(n)],
        }
    )


def predictions(rows) -> pl.DataFrame:
    return pl.DataFrame(
        [(f, 1.0, 1.0, 9.0, 9.0, c, p) for f, c, p in rows], schema=PREDICTIONS, orient="row"
    )


def test_random_samples_are_stable_when_the_fleet_grows():
    spec = SliceSpec("s", "", RandomSample(seed=7), target_size=10)
    small, big = select(spec, fleet(200)), select(spec, fleet(400))
    assert small.schema == SLICE and small.height == 10 * CANDIDATE_FACTOR
    kept = set(small["frame_id"]) & set(big["frame_id"])
    assert len(kept) > small.height // 3  # the old frames keep their order among the new
    big_old = big.filter(pl.col("frame_id").is_in(small["frame_id"].implode()))
    assert big_old["frame_id"].to_list() == small["frame_id"].to_list()[: big_old.height]
    assert (
        select(SliceSpec("s", "", RandomSample(seed=8), 10), fleet(200))["frame_id"].to_list()
        != small["frame_id"].to_list()
    )


def test_metadata_query_ranked_by_a_model_signal():
    spec = SliceSpec("rain", "", MetadataQuery((("weather", ("rain",)),), rank_by="uncertainty"), 2)
    preds = predictions([("d0000-00004", "orange_cone", 0.5), ("d0000-00000", "orange_cone", 0.9)])
    chosen = select(spec, fleet(20), preds)
    assert set(chosen["frame_id"]) == {f"d0000-{i:05d}" for i in range(0, 20, 4)}
    assert chosen["frame_id"][0] == "d0000-00004"  # the uncertain one first
    with pytest.raises(ValueError, match="fleet predictions"):
        select(spec, fleet(20))


def test_model_signal_ranks_every_frame_by_its_score():
    spec = SliceSpec("g", "", ModelSignal("green_cone_score"), 1)
    preds = predictions([("d0000-00003", "green_cone", 0.3), ("d0000-00007", "green_cone", 0.8)])
    chosen = select(spec, fleet(10), preds)
    assert chosen["frame_id"].to_list()[:2] == ["d0000-00007", "d0000-00003"]
    assert chosen.height == CANDIDATE_FACTOR
    unknown = SliceSpec("x", "", ModelSignal("telepathy"), 1)
    with pytest.raises(ValueError, match="unknown signal 'telepathy'"):
        select(unknown, fleet(10), preds)
