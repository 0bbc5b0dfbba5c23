"""The simulated fleet: deterministic, schema-true, temporally coherent, rare things rare."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from PIL import Image

from resources.simulation import FRAME_FACTS, Fleet, FleetConfig
from resources.simulation.world import view
from resources.tables import BOXES, DRIVE_LOG

SMALL = FleetConfig(seed=3, drives=6, frames_per_drive=8)


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return Fleet(SMALL)


def test_drive_log_has_the_shared_schema_and_decodable_pngs(fleet):
    log = fleet.drive_log(fleet.drive_ids[0])
    assert log.schema == DRIVE_LOG
    assert log.height == SMALL.frames_per_drive
    assert log["frame_index"].to_list() == list(range(SMALL.frames_per_drive))
    assert log["timestamp"].is_sorted() and log["timestamp"].dtype.time_zone == "UTC"
    assert log["weather"].n_unique() == 1 and log["time_of_day"].n_unique() == 1
    image = Image.open(io.BytesIO(log["image"][0]))
    assert image.format == "PNG" and image.mode == "RGB"
    assert image.size == (SMALL.image_size, SMALL.image_size)


def test_same_seed_same_fleet_other_seed_other_fleet(fleet):
    again = Fleet(SMALL)
    drive = fleet.drive_ids[1]
    assert fleet.drive_log(drive).equals(again.drive_log(drive))
    other = Fleet(FleetConfig(seed=4, drives=6, frames_per_drive=8))
    assert not fleet.drive_log(drive)["image"].equals(other.drive_log(drive)["image"])


def test_first_drive_gives_new_drives_for_a_later_upload(fleet):
    later = Fleet(FleetConfig(seed=3, drives=2, frames_per_drive=8, first_drive=6))
    assert later.drive_ids == ["d0006", "d0007"]
    assert not set(later.drive_ids) & set(fleet.drive_ids)
    # a drive is defined by (seed, drive number), whichever fleet generates it
    bigger = Fleet(FleetConfig(seed=3, drives=8, frames_per_drive=8))
    assert later.drive_log("d0007").equals(bigger.drive_log("d0007"))


def test_ground_truth_is_inside_the_image_and_matches_the_facts(fleet):
    ids = fleet.frame_ids()
    gt = fleet.ground_truth(ids)
    assert gt.schema == BOXES
    assert gt.height > 0
    size = SMALL.image_size
    assert gt.filter(
        (pl.col("x0") < 0)
        | (pl.col("y0") < 0)
        | (pl.col("x1") > size)
        | (pl.col("y1") > size)
        | (pl.col("x1") <= pl.col("x0"))
        | (pl.col("y1") <= pl.col("y0"))
    ).is_empty()
    assert set(gt["cls"]) <= {"orange_cone", "green_cone"}
    facts = fleet.frame_facts(ids)
    assert facts.schema == FRAME_FACTS and facts.height == len(ids)
    counts = gt.group_by("frame_id", "cls").len().pivot("cls", index="frame_id", values="len")
    joined = facts.join(counts, on="frame_id", how="left").fill_null(0)
    assert (joined["orange_cones"] == joined["orange_cone"]).all()
    if "green_cone" in joined.columns:
        assert (joined["green_cones"] == joined["green_cone"]).all()


def test_objects_persist_and_grow_across_consecutive_frames():
    fleet = Fleet(FleetConfig(seed=1, drives=20, frames_per_drive=12))
    kept, total, grew = 0, 0, 0
    for drive_id in fleet.drive_ids:
        drive = fleet._drive(drive_id)
        for t in range(drive.frames - 1):
            now, after = view(drive, t, 64), view(drive, t + 1, 64)
            inside = now.index[(now.box[:, 0] > 8) & (now.box[:, 2] < 56) & (now.box[:, 3] < 56)]
            for i in inside:
                total += 1
                if i in after.index:
                    kept += 1
                    h0 = now.box[now.index == i, 3] - now.box[now.index == i, 1]
                    h1 = after.box[after.index == i, 3] - after.box[after.index == i, 1]
                    grew += int(h1[0] > h0[0])
    assert total > 100
    assert kept / total > 0.9  # what is well inside the frame is still there a frame later
    assert grew == kept  # and bigger: the car drives towards it


def test_rain_and_green_cones_are_rare_confusers_exist():
    fleet = Fleet(FleetConfig(seed=2, drives=200, frames_per_drive=6))
    facts = fleet.frame_facts(fleet.frame_ids())
    rain = facts.group_by("drive_id").agg(pl.col("weather").first())["weather"]
    assert 0.03 < (rain == "rain").mean() < 0.2
    orange = (facts["orange_cones"] > 0).mean()
    green = (facts["green_cones"] > 0).mean()
    assert 0.0 < green < orange / 3
    assert (facts["confusers"] > 0).mean() > green


def test_unknown_frames_and_drives_are_refused(fleet):
    with pytest.raises(KeyError, match="not in this fleet"):
        fleet.ground_truth(["d0099-00000"])
    with pytest.raises(KeyError):
        fleet.frame_facts([f"{fleet.drive_ids[0]}-00008"])  # past the last frame
    with pytest.raises(KeyError):
        fleet.drive_log("d0099")


def test_config_is_validated():
    with pytest.raises(ValueError, match="timezone"):
        FleetConfig(start=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        FleetConfig(rain_share=0.8, cloudy_share=0.5)
    assert FleetConfig().start.tzinfo is UTC


def test_rain_makes_frames_darker_and_flatter():
    """Rendering, not flags, carries the weather: rainy frames have less contrast."""
    fleet = Fleet(FleetConfig(seed=5, drives=60, frames_per_drive=2, night_share=0, dusk_share=0))
    logs = pl.concat([fleet.drive_log(d) for d in fleet.drive_ids])
    images = np.stack([np.asarray(Image.open(io.BytesIO(b))) for b in logs["image"]])
    std = images.reshape(len(images), -1).std(axis=1)
    rain = (logs["weather"] == "rain").to_numpy()
    assert rain.any() and (~rain).any()
    assert std[rain].mean() < 0.8 * std[~rain].mean()
