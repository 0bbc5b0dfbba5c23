"""Planning labeling requests: shortfalls per slice, no frame twice, evaluation first."""

from __future__ import annotations

import dataclasses

import polars as pl

from assets.labels.queue import plan_request, request_id_for
from assets.slices.declarations import MetadataQuery, RandomSample, SliceSpec
from resources.tables import LABEL_REQUEST, SLICE

HOLDOUT = SliceSpec("holdout", "eval", RandomSample(seed=1), target_size=3, role="eval")
BASELINE = SliceSpec("baseline", "boot", RandomSample(seed=2), target_size=3, role="bootstrap")
RAIN = SliceSpec("rain", "rain", MetadataQuery(equals=(("weather", ("rain",)),)), target_size=2)


def ranked(name: str, ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "frame_id": ids,
            "slice": [name] * len(ids),
            "rank": list(range(len(ids))),
            "score": [0.0] * len(ids),
        },
        schema=SLICE,
    )


def no_history() -> pl.DataFrame:
    return pl.DataFrame(schema=LABEL_REQUEST)


def test_each_slice_gets_its_target_and_evaluation_wins_shared_frames():
    candidates = {
        "holdout": ranked("holdout", ["a", "b", "c", "d"]),
        "baseline": ranked("baseline", ["b", "e", "f", "g"]),
    }
    request = plan_request([BASELINE, HOLDOUT], candidates, no_history())
    by_slice = {s: sorted(g["frame_id"].to_list()) for (s,), g in request.group_by(["slice"])}
    assert by_slice == {"holdout": ["a", "b", "c"], "baseline": ["e", "f", "g"]}
    assert request["request_id"].n_unique() == 1
    assert request["request_id"][0] == request_id_for(request["frame_id"].to_list())
    assert request["rank"].to_list() == list(range(6))


def test_history_counts_against_the_target_and_frames_are_never_asked_twice():
    first = plan_request(
        [HOLDOUT], {"holdout": ranked("holdout", ["a", "b", "c", "d"])}, no_history()
    )
    candidates = {"holdout": ranked("holdout", ["d", "a", "b", "c", "x"])}
    assert plan_request([HOLDOUT], candidates, first).is_empty()
    grown = dataclasses.replace(HOLDOUT, target_size=5)
    more = plan_request([grown], candidates, first)
    assert more["frame_id"].to_list() == ["d", "x"]


def test_missing_slices_are_skipped_and_planning_is_deterministic():
    candidates = {"rain": ranked("rain", ["r1", "r2", "r3"])}
    one = plan_request([HOLDOUT, RAIN], candidates, no_history())
    two = plan_request([RAIN, HOLDOUT], candidates, no_history())
    assert one["frame_id"].to_list() == ["r1", "r2"]
    assert one.equals(two)


def test_a_per_model_slice_gets_a_fresh_budget_for_each_production_model():
    low = SliceSpec(
        "low", "", RandomSample(seed=3), target_size=2, role="signal", budget="per_model"
    )
    candidates = {"low": ranked("low", ["a", "b", "c", "d", "e"])}
    first = plan_request([low], candidates, no_history(), current_model="v1")
    models = {first["request_id"][0]: "v1"}
    same = plan_request([low], candidates, first, model_of_request=models, current_model="v1")
    assert same.is_empty()
    new = plan_request([low], candidates, first, model_of_request=models, current_model="v2")
    assert new["frame_id"].to_list() == ["c", "d"]
