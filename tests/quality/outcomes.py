"""The quality tests' small fixed shapes and how they read a validation's outcomes."""

from __future__ import annotations

IMAGE_WIDTH, IMAGE_HEIGHT = 640, 480
FRAME_IDS = [f"drive-1/{i:04d}" for i in range(40)]


def failed(validation) -> set[tuple[str, str | None]]:
    """(expectation type, column) of every failed expectation."""
    return {(o.type, o.column) for o in validation.failures}


def outcome(validation, type_: str, column: str | None):
    (match,) = [o for o in validation.results if o.type == type_ and o.column == column]
    return match
