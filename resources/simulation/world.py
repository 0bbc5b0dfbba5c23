"""One drive's world: conditions, the car's path, the objects by the road, and what the camera
sees of them frame by frame.

The road is a straight line; the car drives along it at a smoothly varying speed and objects
stand at fixed road positions `s` and lateral offsets `x` (metres). A pinhole camera projects
them, so an object enters the view small near the horizon, grows and slides outwards as the
car approaches, then leaves the frame: consecutive frames see the same objects, as a real
camera does. Everything is drawn from `numpy` generators seeded by (fleet seed, drive number),
so a drive is the same whenever and wherever it is generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from resources.simulation.config import FleetConfig

ORANGE, GREEN, TREE = 0, 1, 2
KIND_NAMES = ("orange_cone", "green_cone", "tree")
ZONES = ("plain", "cones", "construction", "trees")

CAMERA_HEIGHT_M = 1.3
HORIZON = 0.40  # of the image height
FOCAL = 1.3  # focal length as a share of the image width (a narrow lens)
MIN_BOX_PX = 5.0  # objects smaller than this are neither drawn nor labeled
MIN_VISIBLE = 0.4  # a box more than 60% outside the frame is not labeled
LOCAL_UTC_OFFSET_H = -8  # the fleet drives in San Francisco; timestamps are UTC


@dataclass(frozen=True)
class Conditions:
    weather: str  # clear | cloudy | rain
    time_of_day: str  # day | dusk | night
    rain: float  # rain intensity, 0 when dry
    road_tone: float  # asphalt brightness
    side_tone: tuple[float, float, float]  # sidewalk / verge colour


@dataclass(frozen=True)
class Objects:
    kind: np.ndarray  # (n,) int8: ORANGE, GREEN, TREE
    s: np.ndarray  # (n,) road position, m
    x: np.ndarray  # (n,) lateral offset, m (negative = left)
    height: np.ndarray  # (n,) m
    width: np.ndarray  # (n,) m
    color: np.ndarray  # (n, 3) linear RGB in [0, 1]
    style: np.ndarray  # (n,) int8: tree shape (0 smooth, 1 tiered); unused for cones


@dataclass(frozen=True)
class Drive:
    drive_id: str
    number: int
    conditions: Conditions
    start_utc: datetime
    interval_s: float  # between frames
    s: np.ndarray  # (T,) car position along the road, m
    speed: np.ndarray  # (T,) m/s
    latitude: np.ndarray  # (T,)
    longitude: np.ndarray  # (T,)
    objects: Objects
    zone_starts: np.ndarray  # (Z,) road position where each zone starts
    zone_kinds: np.ndarray  # (Z,) index into ZONES
    glare: np.ndarray  # (T,) bool: sun glare washes out part of the frame
    occlusion: np.ndarray  # (T,) bool: something passes close in front of the camera
    transient: np.ndarray  # (T, 3) float: position and size of the glare / occluder

    @property
    def frames(self) -> int:
        return len(self.s)

    def timestamp(self, frame_index: int) -> datetime:
        return self.start_utc + timedelta(seconds=float(frame_index) * self.interval_s)


@dataclass(frozen=True)
class View:
    """What the camera sees of one drive's objects in one frame, far to near."""

    index: np.ndarray  # (k,) object index in the drive
    kind: np.ndarray  # (k,)
    z: np.ndarray  # (k,) depth, m
    box: np.ndarray  # (k, 4) unclipped x0, y0, x1, y1 in pixels
    labeled: np.ndarray  # (k,) bool: big and visible enough to be in the ground truth


def drive_number(drive_id: str) -> int:
    if len(drive_id) != 5 or drive_id[0] != "d" or not drive_id[1:].isdigit():
        raise KeyError(f"not a simulated drive id: {drive_id!r} (expected d0000..d9999)")
    return int(drive_id[1:])


def make_drive(config: FleetConfig, number: int) -> Drive:
    rng = np.random.default_rng([config.seed, number, 0])
    conditions = _conditions(config, rng)
    frames = config.frames_per_drive
    dt = config.frame_interval_s
    t = np.arange(frames) * dt
    base = rng.uniform(4.0, 9.0)
    speed = base + 0.8 * np.sin(2 * np.pi * t / rng.uniform(8, 20) + rng.uniform(0, 2 * np.pi))
    s = np.concatenate([[0.0], np.cumsum(speed[:-1] * dt)])
    heading = rng.uniform(0, 2 * np.pi)
    lat0, lon0 = rng.uniform(37.72, 37.80), rng.uniform(-122.50, -122.39)
    latitude = lat0 + s * np.cos(heading) / 111_111.0
    longitude = lon0 + s * np.sin(heading) / (111_111.0 * np.cos(np.radians(lat0)))
    zone_starts, zone_kinds, objects = _road(config, rng, road_end=s[-1] + 40.0)
    glare = rng.random(frames) < config.glare_share
    occlusion = rng.random(frames) < config.occlusion_share
    transient = rng.uniform(0, 1, size=(frames, 3))
    return Drive(
        drive_id=f"d{number:04d}",
        number=number,
        conditions=conditions,
        start_utc=_start(config, rng, number, conditions.time_of_day),
        s=s,
        speed=speed.astype(np.float32),
        latitude=latitude,
        longitude=longitude,
        objects=objects,
        zone_starts=zone_starts,
        zone_kinds=zone_kinds,
        glare=glare,
        occlusion=occlusion,
        transient=transient,
        interval_s=dt,
    )


def view(drive: Drive, frame_index: int, image_size: int) -> View:
    """Project the drive's objects into frame `frame_index`; far objects first."""
    return views(drive, image_size, [frame_index])[0]


def views(drive: Drive, image_size: int, frames: Sequence[int] | None = None) -> list[View]:
    """`view` of several frames (default: all), projecting them in one go."""
    o = drive.objects
    t = np.arange(drive.frames) if frames is None else np.asarray(frames, dtype=int)
    z = o.s[None, :] - drive.s[t][:, None]  # (T, n) depth of every object in every frame
    f = FOCAL * image_size
    ok = z > 1.0
    near = np.maximum(z, 1e-3)
    height_px = np.where(ok, f * o.height / near, 0.0)
    ok &= height_px >= MIN_BOX_PX
    u = image_size / 2 + f * o.x / near
    bottom = HORIZON * image_size + f * CAMERA_HEIGHT_M / near
    half_w = 0.5 * f * o.width / near
    box = np.stack([u - half_w, bottom - height_px, u + half_w, bottom], axis=-1)  # (T, n, 4)
    clipped = np.clip(box, 0, image_size)
    width, height = clipped[..., 2] - clipped[..., 0], clipped[..., 3] - clipped[..., 1]
    ok &= (width > 0) & (height > 0)
    area = (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])
    labeled = (width * height >= MIN_VISIBLE * np.maximum(area, 1e-6)) & (
        height >= MIN_BOX_PX * 0.75
    )
    labeled &= o.kind != TREE
    result = []
    for k in range(len(t)):
        index = np.flatnonzero(ok[k])
        index = index[np.argsort(-z[k, index], kind="stable")]
        result.append(
            View(
                index=index,
                kind=o.kind[index],
                z=z[k, index],
                box=box[k, index],
                labeled=labeled[k, index],
            )
        )
    return result


def zone_at(drive: Drive, frame_index: int) -> str:
    """The zone the camera looks into (a few metres ahead of the car)."""
    ahead = drive.s[frame_index] + 6.0
    i = int(np.searchsorted(drive.zone_starts, ahead, side="right")) - 1
    return ZONES[int(drive.zone_kinds[max(i, 0)])]


def _conditions(config: FleetConfig, rng: np.random.Generator) -> Conditions:
    u, v = rng.random(), rng.random()
    if u < config.rain_share:
        weather = "rain"
    elif u < config.rain_share + config.cloudy_share:
        weather = "cloudy"
    else:
        weather = "clear"
    if v < config.night_share:
        time_of_day = "night"
    elif v < config.night_share + config.dusk_share:
        time_of_day = "dusk"
    else:
        time_of_day = "day"
    side = rng.uniform(0.45, 0.65)
    return Conditions(
        weather=weather,
        time_of_day=time_of_day,
        rain=float(rng.uniform(0.65, 1.0)) if weather == "rain" else 0.0,
        road_tone=float(rng.uniform(0.28, 0.40)),
        side_tone=(side, side * rng.uniform(0.92, 1.0), side * rng.uniform(0.8, 0.92)),
    )


def _start(
    config: FleetConfig, rng: np.random.Generator, number: int, time_of_day: str
) -> datetime:
    hours = {"day": (8.0, 16.5), "dusk": (17.0, 18.8), "night": (20.5, 27.5)}[time_of_day]
    local_hour = rng.uniform(*hours)
    day = timedelta(days=number // 24)
    midnight = config.start.replace(hour=0, minute=0, second=0, microsecond=0)
    local = timedelta(hours=local_hour - LOCAL_UTC_OFFSET_H)
    return midnight + day + timedelta(microseconds=round(local / timedelta(microseconds=1)))


def _road(config: FleetConfig, rng: np.random.Generator, road_end: float):
    """Zones along the road and the objects standing in them."""
    starts, kinds, parts = [], [], []
    zone_p = np.array(
        [config.cone_zone_share, config.green_zone_share, config.tree_zone_share], dtype=float
    )
    s = -5.0
    while s < road_end:
        length = rng.uniform(12.0, 35.0)
        u = rng.random()
        cum = np.cumsum(zone_p)
        kind = 0 if u >= cum[-1] else 1 + int(np.searchsorted(cum, u, side="right"))
        starts.append(s)
        kinds.append(kind)
        parts.append(_zone_objects(rng, ZONES[kind], s, s + length))
        s += length
    objects = [p for p in parts if p]
    rows = [r for p in objects for r in p]
    if rows:
        kind, pos, x, h, w, color, style = (np.array(c) for c in zip(*rows, strict=True))
    else:
        kind, pos, x, h, w = (np.zeros(0) for _ in range(5))
        color, style = np.zeros((0, 3)), np.zeros(0)
    return (
        np.array(starts),
        np.array(kinds, dtype=np.int8),
        Objects(
            kind=kind.astype(np.int8),
            s=pos.astype(float),
            x=x.astype(float),
            height=h.astype(float),
            width=w.astype(float),
            color=color.reshape(-1, 3).astype(np.float32),
            style=style.astype(np.int8),
        ),
    )


def _zone_objects(rng: np.random.Generator, zone: str, start: float, end: float) -> list:
    rows: list = []
    if zone in ("cones", "construction"):
        sides = [rng.choice([-1.0, 1.0])] if rng.random() < 0.7 else [-1.0, 1.0]
        for side in sides:
            x0 = side * rng.uniform(0.8, 2.0)
            pos = start + rng.uniform(0, 3)
            while pos < end:
                green = zone == "construction" and rng.random() < 0.75
                rows.append(_cone(rng, GREEN if green else ORANGE, pos, x0 + rng.normal(0, 0.1)))
                pos += rng.uniform(2.5, 4.5)
    elif zone == "trees":
        sides = [rng.choice([-1.0, 1.0])] if rng.random() < 0.6 else [-1.0, 1.0]
        for side in sides:
            pos = start + rng.uniform(0, 4)
            while pos < end:
                rows.append(_tree(rng, pos, side * rng.uniform(1.2, 2.8)))
                pos += rng.uniform(3.0, 6.0)
    else:
        if rng.random() < 0.25:
            side = rng.choice([-1.0, 1.0])
            rows.append(_cone(rng, ORANGE, rng.uniform(start, end), side * rng.uniform(0.7, 1.8)))
        if rng.random() < 0.15:
            side = rng.choice([-1.0, 1.0])
            rows.append(_tree(rng, rng.uniform(start, end), side * rng.uniform(1.2, 2.6)))
    return rows


def _cone(rng: np.random.Generator, kind: int, s: float, x: float) -> tuple:
    height = rng.uniform(0.68, 0.82)
    if kind == ORANGE:
        color = np.array([1.0, 0.42, 0.06]) + rng.normal(0, 0.04, 3)
    else:
        lime = rng.random()  # from a deep green to a lime green
        color = np.array([0.18 + 0.35 * lime, 0.62 + 0.28 * lime, 0.22 + 0.05 * lime])
        color = color + rng.normal(0, 0.03, 3)
    return (kind, s, x, height, height * rng.uniform(0.52, 0.6), np.clip(color, 0, 1), 0)


def _tree(rng: np.random.Generator, s: float, x: float) -> tuple:
    height = rng.uniform(0.6, 1.2)
    shade = rng.random()  # from a dark fir to a bright young shrub, overlapping green cones
    color = np.array([0.14 + 0.30 * shade, 0.42 + 0.40 * shade, 0.14 + 0.14 * shade])
    color = color + rng.normal(0, 0.03, 3)
    style = int(rng.random() < 0.4)
    return (TREE, s, x, height, height * rng.uniform(0.5, 0.7), np.clip(color, 0, 1), style)
