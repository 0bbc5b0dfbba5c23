"""A person flags a frame: the frame must exist, the reason must be readable text, and the flag
names the model version in production at that moment (the model whose boxes the person saw).

Both the review page and `fleetloop flag` go through `flag_frame`, so they refuse the same
things with the same messages.
"""

from __future__ import annotations

import getpass

from entrypoints.review.errors import InvalidInputError
from entrypoints.review.frames import FrameSource
from resources.catalog import PRODUCTION, Catalog, ReviewFlag

MODEL_NAME = "cone_detector"  # the registry name `DetectorResource` trains under
MAX_REASON = 500
MAX_NAME = 100


def clean_text(field: str, value: str, limit: int, hint: str) -> str:
    """`value` with runs of whitespace (newlines included) folded to one space, checked."""
    text = " ".join(value.split())
    if not text:
        raise InvalidInputError(f"{field} is empty: {hint}")
    if len(text) > limit:
        raise InvalidInputError(f"{field} is {len(text)} characters long; at most {limit}")
    if not text.isprintable():
        raise InvalidInputError(f"{field} must not contain control characters")
    return text


def clean_reason(reason: str) -> str:
    return clean_text("reason", reason, MAX_REASON, "say what is wrong, e.g. 'missed green cone'")


def clean_name(name: str) -> str:
    return clean_text("flagged by", name, MAX_NAME, "give the reviewer's name")


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "reviewer"


def production_version(catalog: Catalog, model: str = MODEL_NAME) -> str | None:
    holder = catalog.alias(model, PRODUCTION)
    return holder.version if holder is not None else None


def flag_frame(
    catalog: Catalog,
    frames: FrameSource,
    frame_id: str,
    reason: str,
    *,
    flagged_by: str,
    model: str = MODEL_NAME,
    commit: str | None = None,
) -> ReviewFlag:
    """Record a review flag on a known frame; the same open flag twice is one row."""
    reason, flagged_by = clean_reason(reason), clean_name(flagged_by)
    frames.frame(commit or frames.commit(), frame_id)
    return catalog.add_flag(
        frame_id, reason, flagged_by=flagged_by, model_version=production_version(catalog, model)
    )
