"""Flicker: an object the neighbours see and frame t does not (a gap), or one only frame t
sees (a blip), followed through the frames by the car's own motion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from assets.mining.signals import Camera, flicker, flicker_events
from resources.simulation import Fleet, FleetConfig
from resources.simulation.world import CAMERA_HEIGHT_M, FOCAL, HORIZON
from resources.tables import PREDICTIONS

SIZE, SPEED, STEP_S = 64, 8.0, 0.25  # the car moves 2 m between frames


def frames(n: int = 5) -> pl.DataFrame:
    start = datetime(2025, 3, 3, tzinfo=UTC)
    return pl.DataFrame(
        {
            "frame_id": [f"d0001-{i:05d}" for i in range(n)],
            "drive_id": ["d0001"] * n,
            "frame_index": list(range(n)),
            "timestamp": [start + timedelta(seconds=STEP_S * i) for i in range(n)],
            "speed_mps": [SPEED] * n,
            "width": [SIZE] * n,
            "height": [SIZE] * n,
        }
    )


def cone(t: int, lateral_m: float, depth_m: float, cls="orange_cone", confidence=0.9) -> tuple:
    """The box of a cone standing `depth_m` ahead at frame 0, as frame `t` sees it."""
    c, z = Camera(), depth_m - SPEED * STEP_S * t
    f = c.focal * SIZE
    u, bottom = SIZE * c.focus_x + f * lateral_m / z, SIZE * c.horizon + f * c.height_m / z
    h, w = f * 0.75 / z, f * 0.42 / z
    return (f"d0001-{t:05d}", u - w / 2, bottom - h, u + w / 2, bottom, cls, confidence)


def table(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PREDICTIONS, orient="row")


def scores(rows) -> dict[str, float]:
    return dict(flicker(table(rows), frames()).iter_rows())


def test_a_cone_seen_in_every_frame_does_not_flicker():
    assert set(scores([cone(t, 1.0, 12.0) for t in range(5)]).values()) == {0.0}


def test_a_cone_lost_for_one_frame_is_a_gap_at_that_frame():
    s = scores([cone(t, 1.0, 12.0) for t in (0, 1, 3, 4)])
    assert s == pytest.approx({f"d0001-{t:05d}": 0.9 if t == 2 else 0.0 for t in range(5)})
    weak = scores([cone(t, 1.0, 12.0, confidence=0.3 if t == 2 else 0.9) for t in range(5)])
    assert weak["d0001-00002"] == pytest.approx(0.6)


def test_a_colour_flip_is_a_gap_of_one_class_and_a_blip_of_the_other():
    rows = [cone(t, 1.0, 12.0) for t in (0, 1, 3, 4)] + [cone(2, 1.0, 12.0, "green_cone", 0.8)]
    events = flicker_events(table(rows), frames())
    assert events.select("frame_id", "kind", "cls").rows() == [
        ("d0001-00002", "gap", "orange_cone"),
        ("d0001-00002", "blip", "green_cone"),
    ]
    assert scores(rows)["d0001-00002"] == pytest.approx(0.9 + 0.8)


def test_a_detection_of_a_single_frame_is_a_blip_and_frames_rank_by_weight():
    rows = [cone(t, 1.0, 12.0) for t in range(5)]
    rows += [cone(3, -1.2, 9.0, confidence=0.7)]  # nothing there before or after
    # seen in two frames: not a blip, only the drop from 0.6 to 0.55 counts
    rows += [cone(1, -1.0, 14.0, confidence=0.6), cone(2, -1.0, 14.0, confidence=0.55)]
    ranking = flicker(table(rows), frames()).sort(["score", "frame_id"], descending=[True, False])
    assert ranking.rows() == [
        ("d0001-00003", pytest.approx(0.7)),
        ("d0001-00001", pytest.approx(0.05)),
        ("d0001-00000", 0.0),
        ("d0001-00002", 0.0),
        ("d0001-00004", 0.0),
    ]


def test_a_row_of_identical_cones_is_told_apart_by_the_distance_driven():
    # cones every 3 m in a row: after 2 m each cone looks almost like the next one did
    rows = [cone(t, 1.0, d) for t in range(5) for d in (9.0, 12.0, 15.0, 18.0) if d - 2 * t > 3]
    assert set(scores(rows).values()) == {0.0}
    # the cone 12 m ahead at frame 0 is lost at frame 2, its neighbours in the row are not
    gap = scores([r for r in rows if r != cone(2, 1.0, 12.0)])
    assert gap == pytest.approx({f"d0001-{t:05d}": 0.9 if t == 2 else 0.0 for t in range(5)})


def test_the_default_camera_is_the_simulated_fleets():
    c = Camera()
    assert (c.focal, c.horizon, c.height_m, c.focus_x) == (FOCAL, HORIZON, CAMERA_HEIGHT_M, 0.5)


def test_the_simulators_ground_truth_never_flickers():
    fleet = Fleet(FleetConfig(seed=5, drives=12, frames_per_drive=12))
    logs = pl.concat([fleet.drive_log(d).drop("image") for d in fleet.drive_ids])
    table_of_frames = logs.with_columns(
        pl.format("{}-{}", "drive_id", pl.col("frame_index").cast(pl.String).str.zfill(5)).alias(
            "frame_id"
        )
    )
    truth = fleet.ground_truth(fleet.frame_ids()).with_columns(
        pl.lit(1.0, pl.Float32).alias("confidence")
    )
    assert truth.height > 50
    assert flicker_events(truth, table_of_frames).height == 0
