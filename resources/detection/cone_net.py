"""ConeNet: a tiny CenterNet-style cone detector.

A stride-4 convolutional backbone and one head predicting, per output cell, a heatmap per
class (is an object centred here?), the object's log width and height, and the sub-cell
offset of its centre. Detection is peak picking on the heatmap; no anchors, no NMS beyond a
3x3 max-pool. Small enough to train on a CPU in seconds on 64x64 frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from resources.tables import CLASSES


@dataclass(frozen=True)
class ConeNetConfig:
    image_size: int = 64
    classes: tuple[str, ...] = CLASSES
    width: int = 16  # channels of the first layer; the trunk has 2x, the embedding 4x
    stride: int = 4  # output cell size in pixels


class ConvBN(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Backbone(nn.Module):
    def __init__(self, config: ConeNetConfig):
        super().__init__()
        w = config.width
        self.stem = ConvBN(3, w, stride=2)  # (B, w, S/2, S/2)
        self.down = ConvBN(w, 2 * w, stride=2)  # (B, 2w, S/4, S/4)
        self.body = nn.Sequential(  # receptive field grows to ~40 px for context
            ConvBN(2 * w, 2 * w),
            ConvBN(2 * w, 2 * w, dilation=2),
            ConvBN(2 * w, 2 * w, dilation=4),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(self.stem(x))
        return x + self.body(x)  # (B, 2w, S/4, S/4)


class ConeNet(nn.Module):
    def __init__(self, config: ConeNetConfig):
        super().__init__()
        self.config = config
        w, c = config.width, len(config.classes)
        self.backbone = Backbone(config)
        self.head = nn.Sequential(ConvBN(2 * w, 2 * w), nn.Conv2d(2 * w, c + 4, 1))
        # start the heatmap at p = 0.1 everywhere (CenterNet's prior), so early focal loss is sane
        nn.init.constant_(self.head[-1].bias[:c], -math.log((1 - 0.1) / 0.1))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images (B, 3, S, S) float in [-0.5, 0.5] → heatmap logits (B, C, S/4, S/4),
        log size (B, 2, S/4, S/4) in pixels, centre offset (B, 2, S/4, S/4) in cells."""
        features = self.backbone(images)
        out = self.head(features)
        c = len(self.config.classes)
        return {
            "heatmap": out[:, :c],
            "log_size": out[:, c : c + 2],
            "offset": out[:, c + 2 : c + 4],
            "features": features,
        }

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) → (B, 4w): mean and max of the trunk features over the image."""
        return pooled(self.backbone(images))


def pooled(features: torch.Tensor) -> torch.Tensor:
    """Trunk features (B, 2w, h, w) → (B, 4w) embedding: their mean and max over the image."""
    return torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
