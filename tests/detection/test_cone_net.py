"""ConeNet behind the Detector interface: trains, predicts, embeds, round-trips, deterministic."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

from resources.detection import (
    ConeNetDetector,
    Detections,
    TrainConfig,
    decode_images,
    load_checkpoint,
    make_detector,
    save_checkpoint,
    targets_from_boxes,
)
from resources.detection.train import encode_targets
from resources.simulation import Fleet, FleetConfig
from resources.tables import CLASSES

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    fleet = Fleet(
        FleetConfig(
            seed=11,
            drives=8,
            frames_per_drive=8,
            cone_zone_share=0.6,
            green_zone_share=0.3,
            tree_zone_share=0.1,
        )
    )
    logs = pl.concat([fleet.drive_log(d) for d in fleet.drive_ids])
    ids = fleet.frame_ids()
    images = decode_images(logs["image"])
    targets = targets_from_boxes(ids, fleet.ground_truth(ids), CLASSES)
    return ids, images, targets


@pytest.fixture(scope="module")
def trained(data):
    _, images, targets = data
    det = make_detector("cone_net", epochs=6, batch_size=16)
    losses = []
    summary = det.fit(images, targets, seed=1, progress=lambda s, n, loss: losses.append(loss))
    return det, summary, losses


def test_a_tiny_training_run_reduces_the_loss(trained):
    det, summary, losses = trained
    assert isinstance(det, ConeNetDetector)
    assert len(losses) == summary["steps"] == 6 * 4
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:4])
    assert summary["epochs"] == 6 and summary["seconds"] > 0 and summary["images_per_second"] > 0


def test_predictions_are_well_formed(trained, data):
    det, _, _ = trained
    _, images, _ = data
    out = det.predict(images[:10], min_confidence=0.2)
    assert len(out) == 10 and all(isinstance(d, Detections) for d in out)
    for d in out:
        assert d.boxes.dtype == np.float32 and d.boxes.shape == (len(d), 4)
        assert d.classes.dtype == np.int64 and d.scores.dtype == np.float32
        assert (d.scores >= 0.2).all() and (d.scores <= 1).all()
        assert ((d.boxes >= 0) & (d.boxes <= 64)).all()
        assert (d.boxes[:, 2] > d.boxes[:, 0]).all() and (d.boxes[:, 3] > d.boxes[:, 1]).all()
        assert set(d.classes.tolist()) <= {0, 1}
    emb = det.embed(images[:5])
    assert emb.shape == (5, 64) and emb.dtype == np.float32


def test_checkpoint_round_trip_gives_identical_predictions(trained, data):
    det, _, _ = trained
    _, images, _ = data
    data_bytes = save_checkpoint(det)
    again = load_checkpoint(data_bytes)
    assert isinstance(again, ConeNetDetector) and again.classes == det.classes
    assert again.train_config == det.train_config and again.history == det.history
    for a, b in zip(det.predict(images), again.predict(images), strict=True):
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(det.embed(images[:4]), again.embed(images[:4]))
    # plain tensors and strings only: loads with weights_only=True
    import io

    raw = torch.load(io.BytesIO(data_bytes), weights_only=True)
    assert raw["detector"] == "cone_net" and "weights" in raw["state"]


def test_one_pass_predicts_and_embeds_exactly_like_the_two_calls(trained, data):
    det, _, _ = trained
    _, images, _ = data
    detections, vectors = det.predict_and_embed(images, min_confidence=0.1)
    for a, b in zip(detections, det.predict(images, min_confidence=0.1), strict=True):
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.scores, b.scores)
        assert np.array_equal(a.classes, b.classes)
    np.testing.assert_allclose(vectors, det.embed(images), rtol=1e-6, atol=1e-6)
    assert vectors.shape == (len(images), 64) and vectors.dtype == np.float32


def test_training_is_deterministic_given_the_seed(data):
    _, images, targets = data
    runs = []
    for seed in (5, 5, 6):
        det = ConeNetDetector(train=TrainConfig(epochs=1, batch_size=16))
        det.fit(images[:32], targets[:32], seed=seed)
        runs.append(det.embed(images[:4]))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_bad_inputs_are_refused(data):
    _, images, targets = data
    det = make_detector("cone_net")
    with pytest.raises(ValueError, match="uint8"):
        det.predict(images.astype(np.float32))
    with pytest.raises(ValueError, match="target arrays"):
        det.fit(images[:4], targets[:3])
    with pytest.raises(KeyError, match="registered"):
        make_detector("yolo")


def test_dense_targets_peak_at_object_centres():
    box = np.array([[8.0, 8.0, 16.0, 24.0, 1.0]], np.float32)  # centre (12, 16) → cell (3, 4)
    t = encode_targets([box], ConeNetDetector().config)
    assert t.heatmap.shape == (1, 2, 16, 16)
    assert t.heatmap[0, 1, 4, 3] == 1.0 and t.heatmap[0, 0].max() == 0.0
    assert t.mask[0].sum() == 1.0 and t.mask[0, 4, 3] == 1.0
    assert t.regression[0, :, 4, 3] == pytest.approx([np.log(8), np.log(16), 0.0, 0.0])
    mirrored = encode_targets([box], ConeNetDetector().config, mirror=True)
    assert mirrored.mask[0, 4, 13] == 1.0  # centre x 64 - 12 = 52 → cell 13
