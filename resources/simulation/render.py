"""Render a drive's frames as small RGB images, with numpy only.

What makes frames hard is physical, never a flag the model could read: night leaves only
what the headlights reach (cone reflective bands still shine); rain washes colour out, tints,
darkens and blurs the scene, lowers contrast, mirrors objects in the wet road and draws
streaks and lens droplets; green cones and green
cone-shaped trees share a colour range and differ by shape (a cone has a white band and a
dark base plate, a tree a trunk, a ragged outline and a leafy texture); glare and passing
occluders spoil single frames. Objects are drawn with 2x2 supersampling, far to near.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resources.simulation.world import (
    CAMERA_HEIGHT_M,
    FOCAL,
    HORIZON,
    TREE,
    Drive,
    View,
    views,
)

SKY = {  # (top, horizon) colours
    ("day", "clear"): ((0.42, 0.62, 0.92), (0.76, 0.85, 0.95)),
    ("day", "cloudy"): ((0.58, 0.60, 0.64), (0.76, 0.77, 0.79)),
    ("day", "rain"): ((0.40, 0.42, 0.46), (0.58, 0.59, 0.62)),
    ("dusk", "clear"): ((0.30, 0.28, 0.48), (0.95, 0.62, 0.40)),
    ("dusk", "cloudy"): ((0.36, 0.34, 0.40), (0.70, 0.58, 0.50)),
    ("dusk", "rain"): ((0.26, 0.26, 0.32), (0.48, 0.44, 0.42)),
}
NIGHT_SKY = ((0.02, 0.02, 0.05), (0.09, 0.08, 0.11))
AMBIENT = {"day": 1.0, "dusk": 0.6, "night": 0.13}
TINT = {"day": (1.0, 1.0, 1.0), "dusk": (1.06, 0.9, 0.76), "night": (0.95, 0.95, 1.05)}
NOISE = {"day": 0.012, "dusk": 0.02, "night": 0.035}
SUB = 2  # supersampling per pixel side
SUB_OFFSETS = (np.arange(SUB) + 0.5) / SUB
WHITE, BASE, TRUNK = (0.93, 0.93, 0.9), (0.1, 0.1, 0.11), (0.36, 0.23, 0.11)


def render_drive(drive: Drive, image_size: int, seed: int) -> list[np.ndarray]:
    """All frames of `drive` as (S, S, 3) uint8 arrays."""
    backdrop = _backdrop(drive, image_size, np.random.default_rng([seed, drive.number, 2]))
    return [
        render_frame(drive, t, seen, backdrop, np.random.default_rng([seed, drive.number, 1, t]))
        for t, seen in enumerate(views(drive, image_size))
    ]


def render_frame(
    drive: Drive, t: int, seen: View, backdrop: Backdrop, rng: np.random.Generator
) -> np.ndarray:
    """Frame `t` of `drive`, showing the objects `seen` (its `view`)."""
    c = drive.conditions
    img = backdrop.at(drive.s[t])
    for i, z, box in zip(seen.index, seen.z, seen.box, strict=True):
        _draw_object(img, drive, int(i), float(z), box)
    if c.rain > 0:  # the wet road mirrors what stands on it
        for box in seen.box[::-1]:
            _reflect(img, box, 0.45 * c.rain)
    if c.weather == "cloudy":
        img = _contrast(img, 0.12)
    if c.rain > 0:
        img = _rain(img, c.rain, rng, slant=0.15 + 0.25 * (drive.number % 7) / 6)
    if drive.glare[t]:
        img = _glare(img, drive.transient[t])
    if drive.occlusion[t]:
        img = _occluder(img, drive.transient[t])
    sigma = NOISE[c.time_of_day] + 0.01 * c.rain
    img += sigma * rng.standard_normal(img.shape, dtype=np.float32)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


@dataclass(frozen=True)
class Backdrop:
    """A drive's sky, skyline and road, drawn once; only the lane dashes move."""

    image: np.ndarray  # (S, S, 3) float32 without dashes
    first_row: int  # first ground row
    depth: np.ndarray  # (R,) depth of each ground row, m
    dash: np.ndarray  # (R, S, 3) float32: what a dash adds where it is painted

    def at(self, s: float) -> np.ndarray:
        img = self.image.copy()
        on = (((s + self.depth) % 6.0) < 3.0).astype(np.float32)[:, None, None]
        img[self.first_row :] += on * self.dash
        return img


def _backdrop(drive: Drive, size: int, rng: np.random.Generator) -> Backdrop:
    c = drive.conditions
    horizon = HORIZON * size
    f = FOCAL * size
    v = np.arange(size) + 0.5
    top, bottom = NIGHT_SKY if c.time_of_day == "night" else SKY[(c.time_of_day, c.weather)]
    k = np.clip(v / horizon, 0, 1)[:, None]
    img = np.empty((size, size, 3), np.float32)
    img[:] = ((1 - k) * np.array(top) + k * np.array(bottom))[:, None, :]
    skyline = _skyline(size, rng)[..., None]
    building = np.array(bottom) * (0.55 if c.time_of_day != "night" else 0.8)
    img[:] = img * (1 - skyline) + skyline * building
    first = int(np.ceil(horizon - 0.5))
    z = f * CAMERA_HEIGHT_M / (v[first:] - horizon)  # (R,) depth of each ground row
    px_m = z[:, None] / f  # metres per pixel on that row
    xw = (v[None, :] - size / 2) * px_m  # (R, S) lateral world offset of each pixel
    road = np.clip((3.5 - np.abs(xw)) / px_m + 0.5, 0, 1)[..., None]
    tone = c.road_tone * (0.8 if c.rain > 0 else 1.0)
    color = road * tone + (1 - road) * np.array(c.side_tone)
    edge = np.clip(0.5 + (0.07 - np.abs(np.abs(xw) - 3.3)) / px_m, 0, 1)[..., None]
    color = color * (1 - edge) + edge * 0.85
    light = _light(drive, z[:, None], xw)[..., None] * np.array(TINT[c.time_of_day])
    img[first:] = color * light
    dash = np.clip(0.5 + (0.07 - np.abs(xw)) / px_m, 0, 1)[..., None]
    return Backdrop(
        image=img,
        first_row=first,
        depth=z,
        dash=(dash * (0.85 - color) * light).astype(np.float32),
    )


def _light(drive: Drive, z: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Scene brightness at depth z and lateral world offset x from the camera."""
    c = drive.conditions
    ambient = AMBIENT[c.time_of_day] * (0.88 if c.weather == "cloudy" else 1.0)
    ambient *= 1.0 - 0.15 * c.rain
    if c.time_of_day == "day":
        return np.full(np.broadcast(z, x).shape, ambient)
    beam = np.exp(-np.maximum(z - 2.0, 0) / 6.0) * np.exp(-((x / (0.45 * z + 1.2)) ** 2))
    return ambient + (1.0 - ambient) * 0.95 * beam


def _skyline(size: int, rng: np.random.Generator) -> np.ndarray:
    """Building silhouettes on the horizon, as an (S, S) coverage mask; static per drive."""
    mask = np.zeros((size, size), np.float32)
    horizon = int(HORIZON * size)
    x = 0
    while x < size:
        w = int(rng.integers(3, 9))
        h = int(rng.integers(1, max(2, int(0.25 * size))))
        if rng.random() < 0.8:
            mask[max(horizon - h, 0) : horizon, x : x + w] = rng.uniform(0.5, 0.9)
        x += w
    return mask


def _draw_object(img: np.ndarray, drive: Drive, i: int, z: float, box: np.ndarray):
    o = drive.objects
    size = img.shape[0]
    x0, y0, x1, y1 = (float(b) for b in box)
    c0, r0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    c1, r1 = min(int(np.ceil(x1)), size), min(int(np.ceil(y1)), size)
    if c1 <= c0 or r1 <= r0:
        return
    xs = (np.arange(c0, c1)[:, None] + SUB_OFFSETS).ravel()  # (W*SUB,) sample columns
    ys = (np.arange(r0, r1)[:, None] + SUB_OFFSETS).ravel()  # (H*SUB,) sample rows
    b = ((xs - 0.5 * (x0 + x1)) / (0.5 * (x1 - x0)))[None, :]  # (1, W*SUB) across, -1..1
    a = ((ys - y0) / (y1 - y0))[:, None]  # (H*SUB, 1) down, 0 at the top
    c = drive.conditions
    light = _light(drive, np.array(z), np.array(o.x[i])) * np.array(TINT[c.time_of_day])
    if o.kind[i] == TREE:
        mask, color = _tree(a, b, o.color[i], int(o.style[i]), xs, ys)
    else:
        mask, color = _cone(a, b, o.color[i], night=c.time_of_day == "night")
    h, w = r1 - r0, c1 - c0
    cover = mask.reshape(h, SUB, w, SUB).mean(axis=(1, 3))[..., None]
    paint = (color * light * mask[..., None]).reshape(h, SUB, w, SUB, 3).mean(axis=(1, 3))
    img[r0:r1, c0:c1] = img[r0:r1, c0:c1] * (1 - cover) + paint


def _cone(a: np.ndarray, b: np.ndarray, base: np.ndarray, night: bool):
    """Coverage mask and colour of a cone: body, white reflective band, dark base plate."""
    across = np.abs(b)
    body = (a >= 0.02) & (a <= 0.88) & (across <= 0.1 + 0.72 * a / 0.88)
    plate = (a > 0.88) & (a <= 1.0) & (across <= 1.0)
    band = body & (a >= 0.38) & (a <= 0.56)
    color = base * (1.0 - 0.22 * b)[..., None]
    # the reflective band returns the headlights: at night it is the brightest part of a cone
    white = np.array(WHITE) * (2.6 if night else 1.0)
    color = np.where(band[..., None], white, color)
    color = np.where(plate[..., None], np.array(BASE), color)
    return body | plate, color


def _tree(a, b, base, style: int, xs, ys):
    """Coverage mask and colour of a tree: leafy foliage (smooth or tiered) on a trunk."""
    top = 0.8
    grow = np.clip(a / top, 0, 1)
    if style == 1:  # tiered: three stacked triangles, a zig-zag outline
        local = (grow * 3) % 1.0
        half = (0.35 + 0.65 * grow) * (0.55 + 0.45 * local)
    else:  # a clipped shrub: smooth cone with a ragged edge
        half = (0.15 + 0.85 * grow) * (0.9 + 0.1 * np.sin(ys[:, None] * 7.3 + xs[None, :] * 3.1))
    across = np.abs(b)
    foliage = (a <= top) & (across <= half)
    trunk = (a > top - 0.02) & (a <= 1.0) & (across <= 0.14)
    leaves = 0.8 + 0.32 * np.sin(xs[None, :] * 5.1 + ys[:, None] * 2.3) * np.sin(
        ys[:, None] * 4.7 - xs[None, :] * 1.9
    )
    color = base * (leaves * (1.0 - 0.18 * b))[..., None]
    color = np.where((trunk & ~foliage)[..., None], np.array(TRUNK), color)
    return foliage | trunk, color


def _reflect(img: np.ndarray, box: np.ndarray, alpha: float) -> None:
    """A dim, smeared, upside-down copy of the box's pixels just below it."""
    size = img.shape[0]
    c0, c1 = max(int(box[0]), 0), min(int(np.ceil(box[2])), size)
    r0, r1 = max(int(box[1]), 0), min(int(np.ceil(box[3])), size)
    depth = min(int(0.7 * (r1 - r0)), size - r1)
    if c1 <= c0 or depth <= 0:
        return
    mirror = img[r1 - depth : r1, c0:c1][::-1]
    smear = 0.5 * mirror + 0.25 * np.roll(mirror, 1, axis=0) + 0.25 * np.roll(mirror, 2, axis=0)
    fade = alpha * np.linspace(1.0, 0.2, depth, dtype=np.float32)[:, None, None]
    below = img[r1 : r1 + depth, c0:c1]
    img[r1 : r1 + depth, c0:c1] = below * (1 - fade) + fade * smear * 0.8


def _contrast(img: np.ndarray, amount: float) -> np.ndarray:
    mean = img.mean(axis=(0, 1), keepdims=True)
    return mean + (img - mean) * (1.0 - amount)


def _blur(img: np.ndarray) -> np.ndarray:
    p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = img.shape[:2]
    return sum(p[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0


def _rain(img: np.ndarray, r: float, rng: np.random.Generator, slant: float) -> np.ndarray:
    size = img.shape[0]
    gray = img.mean(axis=2, keepdims=True)
    img = img * (1 - 0.55 * r) + 0.55 * r * gray * np.array([0.85, 0.97, 1.2])
    img = _contrast(img, 0.3 * r) * (1.0 - 0.1 * r)
    img = img * (1 - 0.3 * r) + 0.3 * r * _blur(img)
    n = int(50 * r)
    length = rng.integers(4, 10, n)
    x0, y0 = rng.uniform(-4, size, n), rng.uniform(-8, size, n)
    alpha = rng.uniform(0.15, 0.4, n)
    steps = np.arange(10)
    ys = y0[:, None] + steps[None, :]
    xs = x0[:, None] + slant * steps[None, :]
    keep = (steps[None, :] < length[:, None]) & (ys >= 0) & (ys < size) & (xs >= 0) & (xs < size)
    yi, xi = ys[keep].astype(int), xs[keep].astype(int)
    a = np.broadcast_to(alpha[:, None], keep.shape)[keep][:, None]
    img[yi, xi] = img[yi, xi] * (1 - a) + a * np.array([0.85, 0.87, 0.9])
    blurred = _blur(_blur(img))
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(rng.poisson(2.5 * r)):  # droplets on the lens: soft bright discs
        cy, cx, rad = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(1.5, 0.07 * size)
        disc = np.clip(rad + 0.5 - np.hypot(yy - cy, xx - cx), 0, 1)[..., None]
        img = img * (1 - disc) + disc * (blurred * 1.1 + 0.04)
    return img


def _glare(img: np.ndarray, p: np.ndarray) -> np.ndarray:
    size = img.shape[0]
    yy, xx = np.mgrid[0:size, 0:size]
    cx, cy, radius = p[0] * size, p[1] * 0.5 * size, (0.25 + 0.3 * p[2]) * size
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / radius**2)[..., None]
    return img + 0.95 * blob * np.array([1.0, 0.95, 0.82])


def _occluder(img: np.ndarray, p: np.ndarray) -> np.ndarray:
    size = img.shape[0]
    center, width = p[0] * size, (0.12 + 0.15 * p[2]) * size
    cover = np.clip(width / 2 + 0.5 - np.abs(np.arange(size) + 0.5 - center), 0, 1)
    cover = cover[None, :, None]
    return img * (1 - cover) + cover * (0.05 + 0.1 * img.mean())
