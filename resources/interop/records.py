"""What a labeling tool's file says, before it becomes a fleetloop label batch."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from resources.interop.errors import InvalidRequestIdError

Box = tuple[float, float, float, float, str]  # pixel corners x0, y0, x1, y1 and the class

# Label Studio stores an uploaded file as `<8 hex>-<original name>`.
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")
# The only ids the labeling queue makes (`assets.labels.queue.request_id_for`); they name files.
REQUEST_ID = re.compile(r"req-[0-9a-f]{12}")
EARLIEST_LABEL = datetime(2000, 1, 1, tzinfo=UTC)  # before any fleet frame existed
CLOCK_SKEW = timedelta(hours=1)  # how far in the future a labeling tool's clock may run
SHOWN = 60  # characters of a value quoted in a message


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


def show(value: Any) -> str:
    """`value` as a short, one-line piece of a message: a file's ids and values can be anything."""
    if isinstance(value, int | str) and not isinstance(value, bool):
        text = str(value) if isinstance(value, int) else value
        if len(text) <= SHOWN and text.isprintable():
            return text
    text = repr(value) if not isinstance(value, list | dict) else _shape(value)
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 3]}..."


def _shape(value: list | dict) -> str:
    """A list or dict by its kind and size (its repr could be nested too deep to print)."""
    return f"a list of {len(value)}" if isinstance(value, list) else f"an object of {len(value)}"


def check_request_id(request_id: object) -> str:
    """`request_id` when it is one the labeling queue makes (`req-` and 12 hex digits); it
    becomes part of store paths and folder names, so nothing else is let through."""
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        raise InvalidRequestIdError(
            f"{show(request_id)!r} is not a labeling request id: ids are 'req-' and 12 "
            "lowercase hex digits, as in the request's request.json"
        )
    return request_id


def check_labeled_at(moment: datetime, now: datetime) -> datetime:
    """`moment` if it is a time a label could have been made: not before 2000 and not more
    than `CLOCK_SKEW` after `now` (a batch dated 9999 would pin its labels as newest forever)."""
    if moment < EARLIEST_LABEL:
        raise ValueError(
            f"labeled at {moment.isoformat()}, before {EARLIEST_LABEL.year}: "
            "fix the annotation's time or leave it out"
        )
    if moment > now + CLOCK_SKEW:
        clock = now.isoformat(timespec="seconds")
        raise ValueError(
            f"labeled at {moment.isoformat()}, in the future (now {clock}): "
            "fix the labeling tool's clock or leave the time out"
        )
    return moment
