"""Every signal on one small simulated fleet: its top k frames hold more truly hard frames
than a random sample of k frames of the same pool (both numbers in the message)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from assets.mining.signals import (
    Challenger,
    SimulatedOperator,
    cross_predictions,
    disagreement,
    drift_report,
    drifted,
    flagged,
    flicker,
    label_errors,
    low_confidence,
    precision_at_k,
    random_precision,
    similar_frames,
    train_challenger,
    wrong_frames,
)
from assets.mining.signals.scores import random_sample
from resources.detection import decode_images, make_detector, predictions_table
from resources.detection.tables import targets_from_boxes
from resources.simulation import Fleet, FleetConfig, LabelNoise, SimulatedLabelers
from resources.tables import CLASSES

SEED, K = 7, 60


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def world(one_torch_thread):
    fleet = Fleet(FleetConfig(seed=SEED, drives=50, frames_per_drive=16, rain_share=0.2))
    logs = pl.concat([fleet.drive_log(d) for d in fleet.drive_ids])
    frames = logs.drop("image").with_columns(
        pl.format("{}-{}", "drive_id", pl.col("frame_index").cast(pl.String).str.zfill(5)).alias(
            "frame_id"
        )
    )
    images = decode_images(logs["image"])
    ids = frames["frame_id"].to_list()
    order = np.random.default_rng(SEED).permutation(len(ids))
    train = [ids[i] for i in order[:320]]
    holdout = [ids[i] for i in order[320:480]]
    pool = [ids[i] for i in order[480:]]
    labels = SimulatedLabelers(fleet, seed=SEED).label(train, "train")
    targets = targets_from_boxes(train, labels.boxes, CLASSES)
    row = {f: i for i, f in enumerate(ids)}
    model = make_detector("cone_net", epochs=16)
    model.fit(images[[row[f] for f in train]], targets, seed=SEED)
    predictions = predictions_table(ids, model.predict(images, min_confidence=0.05), CLASSES)
    facts = fleet.frame_facts(ids)
    hard = facts.filter(
        (pl.col("weather") == "rain")
        | (pl.col("green_cones") > 0)
        | pl.col("glare")
        | pl.col("occlusion")
    )["frame_id"]
    return {
        "fleet": fleet,
        "frames": frames,
        "images": images,
        "row": row,
        "train": train,
        "holdout": holdout,
        "pool": pool,
        "labels": labels,
        "targets": targets,
        "model": model,
        "predictions": predictions,
        "facts": facts,
        "hard_scene": set(hard) & set(pool),
        "wrong": set(wrong_frames(fleet.ground_truth(pool), predictions, pool)["frame_id"]),
    }


def beats_random(name: str, scores: pl.DataFrame, pool, hard, k: int = K) -> None:
    top = precision_at_k(scores.filter(pl.col("frame_id").is_in(pool)), hard, k)
    chance = max(random_precision(pool, hard, k, seed=SEED), len(set(hard)) / len(pool))
    assert top > chance, f"{name}: precision at {k} {top:.3f} vs random {chance:.3f}"


def test_flags_point_at_frames_the_model_gets_wrong(world):
    reviewed = random_sample(world["pool"], 200, SEED)
    flags = SimulatedOperator(world["fleet"], miss_rate=0.2, seed=SEED).review(
        world["predictions"], reviewed
    )
    assert flags.height > 10
    wrong = world["wrong"] & set(reviewed)
    beats_random("flags", flagged(flags, reviewed), reviewed, wrong, k=flags.height)


def test_disagreement_with_a_challenger_finds_model_errors(world):
    w = world
    x = w["images"][[w["row"][f] for f in w["train"]]]
    challenger, fit = train_challenger(x, w["targets"], Challenger(epochs=6, seed=SEED + 1))
    assert fit["cpu_seconds"] > 0
    pool = w["pool"]
    found = predictions_table(
        pool, challenger.predict(w["images"][[w["row"][f] for f in pool]]), CLASSES
    )
    mine = w["predictions"].filter(pl.col("frame_id").is_in(pool))
    beats_random("disagreement", disagreement(mine, found, pool), pool, w["wrong"])


def test_flicker_finds_model_errors(world):
    scores = flicker(world["predictions"], world["frames"])
    beats_random("flicker", scores, world["pool"], world["wrong"])


def test_low_confidence_finds_hard_scenes(world):
    pool = world["pool"]
    scores = low_confidence(world["predictions"].filter(pl.col("frame_id").is_in(pool)), pool)
    beats_random("low_confidence", scores, pool, world["hard_scene"])


def test_label_errors_rank_injected_mistakes_first(world):
    w = world
    noisy = SimulatedLabelers(w["fleet"], LabelNoise(miss_rate=0.08, wrong_class_rate=0.04), seed=1)
    batch = noisy.label(w["holdout"], "noisy")
    bad = set(batch.errors["frame_id"])
    assert len(bad) > 5
    context = w["frames"].select("frame_id", "weather")
    scores = label_errors(batch.boxes, w["predictions"], w["holdout"], context=context)
    beats_random("label_errors (holdout)", scores, w["holdout"], bad, k=len(bad))


def test_cross_predictions_are_out_of_sample(world):
    w = world
    ids = w["train"][:120]
    x = w["images"][[w["row"][f] for f in ids]]
    predictions, cost = cross_predictions(x, ids, w["targets"][:120], folds=2, epochs=2)
    assert set(predictions["frame_id"]) <= set(ids)
    assert cost["folds"] == 2 and cost["cpu_seconds"] > 0


def test_similarity_finds_more_frames_like_the_examples(world):
    w = world
    rainy = w["frames"].filter(pl.col("frame_id").is_in(w["train"]) & (pl.col("weather") == "rain"))
    examples = rainy["frame_id"].head(4).to_list()
    assert len(examples) == 4
    embeddings = w["model"].embed(w["images"])
    scores = similar_frames(embeddings, w["frames"]["frame_id"].to_list(), examples)
    rain = set(w["facts"].filter(pl.col("weather") == "rain")["frame_id"])
    beats_random("similarity", scores, w["pool"], rain & set(w["pool"]))


def test_drift_tells_production_from_a_rain_heavy_one(world):
    w = world
    embeddings = w["model"].embed(w["images"])
    rows = w["row"]
    weather = dict(w["frames"].select("frame_id", "weather").iter_rows())
    train = embeddings[[rows[f] for f in w["train"]]]

    def report(ids):
        meta = pl.DataFrame({"frame_id": ids, "weather": [weather[f] for f in ids]})
        return drift_report(train, embeddings[[rows[f] for f in ids]], meta, permutations=100)

    same = drifted(report(w["pool"]))
    rainy = [f for f in w["pool"] if weather[f] == "rain"]
    heavy = drifted(
        report(rainy + [f for f in w["pool"] if weather[f] != "rain"][: len(rainy) // 3])
    )
    assert not same[0], same[1]
    assert heavy[0], heavy[1]
