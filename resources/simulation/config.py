"""How a simulated fleet looks: its size, its weather and light, and what stands by the road.

Every share is a probability: weather and time of day are drawn once per drive (a drive is a
few seconds of one car in one place), zones are drawn per stretch of road, transient hard
frames (glare, occlusion) per frame. Drive ids are `d{first_drive + i:04d}`, so a later upload
can use a fresh range of ids with the same seed and get new drives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class FleetConfig:
    seed: int = 0
    drives: int = 350
    frames_per_drive: int = 24
    first_drive: int = 0
    image_size: int = 64  # square RGB frames
    frame_interval_s: float = 0.25
    # weather and light, per drive
    rain_share: float = 0.07
    cloudy_share: float = 0.25
    night_share: float = 0.15
    dusk_share: float = 0.10
    # what the road passes, per stretch of road
    cone_zone_share: float = 0.30  # lane closures with orange cones
    green_zone_share: float = 0.04  # construction zones with green cones (and some orange)
    tree_zone_share: float = 0.22  # green cone-shaped trees and shrubs: the confusers
    # transient hard frames, per frame
    glare_share: float = 0.01
    occlusion_share: float = 0.01
    start: datetime = field(default=datetime(2025, 3, 3, tzinfo=UTC))

    def __post_init__(self) -> None:
        if self.drives < 0 or self.frames_per_drive < 1 or self.first_drive < 0:
            raise ValueError("drives >= 0, frames_per_drive >= 1 and first_drive >= 0 required")
        if self.first_drive + self.drives > 10_000:
            raise ValueError("drive ids are d0000..d9999: first_drive + drives must be <= 10000")
        if self.image_size < 32:
            raise ValueError("image_size must be at least 32 pixels")
        if self.rain_share + self.cloudy_share > 1 or self.night_share + self.dusk_share > 1:
            raise ValueError("weather shares and time-of-day shares must each sum to <= 1")
        zones = self.cone_zone_share + self.green_zone_share + self.tree_zone_share
        if zones > 1:
            raise ValueError("zone shares must sum to <= 1 (the rest of the road is plain)")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware (timestamps are UTC)")
