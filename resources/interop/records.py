"""What a labeling tool's file says, before it becomes a fleetloop label batch."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

Box = tuple[float, float, float, float, str]  # pixel corners x0, y0, x1, y1 and the class

# Label Studio stores an uploaded file as `<8 hex>-<original name>`.
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")


@dataclass(frozen=True)
class LabeledFrame:
    frame_id: str
    boxes: list[Box]  # empty: looked at, no cone (a true negative)
    labeler: str | None = None  # who, when the file says
    labeled_at: datetime | None = None


@dataclass
class LabelFile:
    source: str  # "label-studio" | "coco"
    frames: list[LabeledFrame] = field(default_factory=list)
    request_id: str | None = None  # when every task names the same request
    skipped: int = 0  # tasks without a usable annotation (none, skipped or cancelled)

    @property
    def boxes(self) -> int:
        return sum(len(frame.boxes) for frame in self.frames)


def frame_from_path(path: str, known: Container[str]) -> str:
    """The frame an image path or URL shows: `…/images/d0000-00001.png` → `d0000-00001`,
    also after Label Studio's upload prefix (`1a2b3c4d-d0000-00001.png`)."""
    name = unquote(path.split("?")[-1] if "?d=" in path else path.split("?")[0])
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if stem not in known:
        stripped = _UPLOAD_PREFIX.sub("", stem)
        if stripped in known:
            return stripped
    return stem
