"""Training and decoding for ConeNet, as plain functions.

Targets become dense maps once, before training (a Gaussian bump per object centre on its
class heatmap, log size and sub-cell offset at the centre cell), for each image and its
mirror image; a step then only gathers a batch. Loss: CenterNet's focal loss on the heatmap
plus L1 on size and offset at object centres. AdamW with warm-up and cosine decay.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from resources.detection.cone_net import ConeNet, ConeNetConfig, pooled
from resources.detection.interface import Detections, Progress


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 4e-3
    weight_decay: float = 1e-4
    warmup: float = 0.05  # share of steps
    flip: bool = True  # mirror images left-right half of the time
    size_weight: float = 1.0
    offset_weight: float = 1.0
    max_seconds: float | None = None  # stop early (and say so) when training takes longer


@dataclass(frozen=True)
class DenseTargets:
    heatmap: np.ndarray  # (N, C, h, w) float32 in [0, 1]
    regression: np.ndarray  # (N, 4, h, w) float32: log w, log h, dx, dy at centre cells
    mask: np.ndarray  # (N, h, w) float32: 1 at object centres


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_tensor(images: np.ndarray, dev: torch.device) -> torch.Tensor:
    """(N, H, W, 3) uint8 → (N, 3, H, W) float32 in [-0.5, 0.5], channels-last memory."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(dev)
    x = x.permute(0, 3, 1, 2).float().div_(255.0).sub_(0.5)
    return x.contiguous(memory_format=torch.channels_last)


def encode_targets(
    targets: Sequence[np.ndarray], config: ConeNetConfig, *, mirror: bool = False
) -> DenseTargets:
    n, c = len(targets), len(config.classes)
    side = config.image_size // config.stride
    heatmap = np.zeros((n, c, side, side), np.float32)
    regression = np.zeros((n, 4, side, side), np.float32)
    mask = np.zeros((n, side, side), np.float32)
    grid = np.arange(side, dtype=np.float32)
    for i, boxes in enumerate(targets):
        for x0, y0, x1, y1, cls in np.asarray(boxes, np.float32).reshape(-1, 5):
            if mirror:
                x0, x1 = config.image_size - x1, config.image_size - x0
            w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
            cx, cy = (x0 + x1) / 2 / config.stride, (y0 + y1) / 2 / config.stride
            ix, iy = min(int(cx), side - 1), min(int(cy), side - 1)
            sigma = max(0.5, math.sqrt(w * h) / config.stride / 4)
            bump = np.exp(-((grid[None, :] - ix) ** 2 + (grid[:, None] - iy) ** 2) / (2 * sigma**2))
            np.maximum(heatmap[i, int(cls)], bump, out=heatmap[i, int(cls)])
            regression[i, :, iy, ix] = (math.log(w), math.log(h), cx - ix, cy - iy)
            mask[i, iy, ix] = 1.0
    return DenseTargets(heatmap, regression, mask)


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's variant of focal loss, normalised by the number of object centres."""
    p = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1.0).float()
    pos_loss = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    neg_loss = -(torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - pos)).sum()
    return (pos_loss + neg_loss) / pos.sum().clamp(min=1.0)


def loss_fn(out: dict[str, torch.Tensor], heatmap, regression, mask, cfg: TrainConfig):
    hm = focal_loss(out["heatmap"], heatmap)
    m = mask.unsqueeze(1)
    n = mask.sum().clamp(min=1.0)
    size = (F.l1_loss(out["log_size"], regression[:, :2], reduction="none") * m).sum() / n
    offset = (F.l1_loss(out["offset"], regression[:, 2:], reduction="none") * m).sum() / n
    return hm + cfg.size_weight * size + cfg.offset_weight * offset


def train(
    model: ConeNet,
    images: np.ndarray,
    targets: Sequence[np.ndarray],
    cfg: TrainConfig,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Train `model` in place; returns loss, seconds, images_per_second, epochs, steps.
    Each epoch visits every image once, or, with unequal `weights`, draws as many images with
    probability proportional to their weight."""
    if len(images) != len(targets):
        raise ValueError(f"{len(images)} images but {len(targets)} target arrays")
    draw = _drawing(weights, len(images))
    if len(images) == 0:
        raise ValueError("nothing to train on: no images")
    dev = next(model.parameters()).device
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    # mirrored copies sit after the originals: a flipped sample is just another row
    x = to_tensor(images, dev)
    views = [encode_targets(targets, model.config)]
    if cfg.flip:
        x = torch.cat([x, x.flip(3)]).contiguous(memory_format=torch.channels_last)
        views.append(encode_targets(targets, model.config, mirror=True))
    heatmap, regression, mask = (
        torch.from_numpy(np.concatenate([getattr(v, k) for v in views])).to(dev)
        for k in ("heatmap", "regression", "mask")
    )
    n = len(images)
    per_epoch = max(1, math.ceil(n / cfg.batch_size))
    total = per_epoch * cfg.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(1, int(cfg.warmup * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: (
            (s + 1) / warm
            if s < warm
            else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm)))
        ),
    )
    model.train()
    step, seen, loss_value, stopped = 0, 0, float("nan"), False
    for _epoch in range(cfg.epochs):
        order = rng.permutation(n) if draw is None else rng.choice(n, size=n, p=draw)
        for b in range(per_epoch):
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            if cfg.flip:
                idx = idx + n * (rng.random(len(idx)) < 0.5)
            rows = torch.from_numpy(idx).to(dev)
            parts = (heatmap[rows], regression[rows], mask[rows])
            batch = x[rows].contiguous(memory_format=torch.channels_last)
            loss = loss_fn(model(batch), *parts, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            step += 1
            seen += len(idx)
            loss_value = float(loss.detach())
            if progress is not None:
                progress(step, total, loss_value)
            if cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds:
                stopped = True
                break
        if stopped:
            break
    model.eval()
    seconds = time.perf_counter() - start
    return {
        "loss": loss_value,
        "seconds": seconds,
        "images_per_second": seen / max(seconds, 1e-9),
        "epochs": seen / n,
        "steps": float(step),
        "stopped_early": float(stopped),
    }


def _drawing(weights: np.ndarray | None, n: int) -> np.ndarray | None:
    """Drawing probabilities for unequal weights; None (a plain permutation) for equal ones."""
    if weights is None:
        return None
    w = np.asarray(weights, np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"weights must be {n} positive finite numbers, one per image")
    return None if np.all(w == w[0]) else w / w.sum()


@torch.inference_mode()
def detect(
    model: ConeNet,
    images: np.ndarray,
    *,
    min_confidence: float,
    batch_size: int = 256,
    top_k=40,
    embeddings: list[np.ndarray] | None = None,
) -> list[Detections]:
    """Detections per image; with `embeddings`, each batch's `ConeNet.embed` vectors are
    appended to it, pooled from the same forward pass."""
    model.eval()
    dev = next(model.parameters()).device
    cfg = model.config
    result: list[Detections] = []
    for start in range(0, len(images), batch_size):
        out = model(to_tensor(images[start : start + batch_size], dev))
        if embeddings is not None:
            embeddings.append(pooled(out["features"]).float().cpu().numpy())
        heat = out["heatmap"].sigmoid()  # (B, C, h, w)
        # one class per cell: a cone is orange or green, not both
        best = heat.amax(dim=1, keepdim=True)
        heat = heat * heat.eq(best)
        peaks = heat * heat.eq(F.max_pool2d(heat, 3, stride=1, padding=1))
        b, c, h, w = peaks.shape
        scores, flat = peaks.reshape(b, -1).topk(min(top_k, c * h * w), dim=1)
        cls, cell = flat // (h * w), flat % (h * w)
        iy, ix = cell // w, cell % w
        gather = torch.arange(b, device=dev)[:, None]
        size = out["log_size"].exp()[gather, :, iy, ix]  # (B, K, 2)
        offset = out["offset"][gather, :, iy, ix]  # (B, K, 2)
        cx = (ix.float() + offset[..., 0]) * cfg.stride
        cy = (iy.float() + offset[..., 1]) * cfg.stride
        half_w, half_h = size[..., 0] / 2, size[..., 1] / 2
        boxes = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)
        boxes = boxes.clamp(0, cfg.image_size)
        for i in range(b):
            keep = scores[i] >= min_confidence
            keep &= (boxes[i, :, 2] > boxes[i, :, 0]) & (boxes[i, :, 3] > boxes[i, :, 1])
            result.append(
                Detections(
                    boxes=boxes[i][keep].cpu().numpy().astype(np.float32),
                    classes=cls[i][keep].cpu().numpy().astype(np.int64),
                    scores=scores[i][keep].cpu().numpy().astype(np.float32),
                )
            )
    return result


@torch.inference_mode()
def embed(model: ConeNet, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    model.eval()
    dev = next(model.parameters()).device
    parts = [
        model.embed(to_tensor(images[s : s + batch_size], dev)).float().cpu().numpy()
        for s in range(0, len(images), batch_size)
    ]
    return embedding_matrix(parts, model.config.width)


def embedding_matrix(parts: list[np.ndarray], width: int) -> np.ndarray:
    """Batches of embeddings → (N, 4 * width) float32 (ConeNet's embedding width)."""
    if not parts:
        return np.zeros((0, 4 * width), np.float32)
    return np.concatenate(parts).astype(np.float32)
