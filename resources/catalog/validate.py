"""Argument checks shared by the catalog's nouns, raising `InvalidRecordError` with the field's
name, so a bad call fails before it opens a transaction."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from resources.catalog.errors import InvalidRecordError


def text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecordError(f"{field} must be a non-empty string, got {value!r}")
    return value


def optional_text(field: str, value: object) -> str | None:
    return None if value is None else text(field, value)


def count(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecordError(f"{field} must be an integer >= 0, got {value!r}")
    return value


def choice(field: str, value: object, allowed: Iterable[str]) -> str:
    allowed = [str(a) for a in allowed]
    if value not in allowed:
        raise InvalidRecordError(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def timestamp(field: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidRecordError(f"{field} must be a datetime, got {value!r}")
    return value


def json_value(field: str, value: Any) -> Any:
    """`value` as it will read back from a JSON column (tuples become lists, keys strings).

    NaN and infinities become null: JSON has no such numbers (PostgreSQL refuses them), and a
    metric that is undefined on an empty slice should not stop a model from being recorded.
    """
    try:
        return json.loads(json.dumps(_finite(value), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidRecordError(f"{field} must be plain JSON data: {exc}") from None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def json_object(field: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRecordError(f"{field} must be a dict, got {type(value).__name__}")
    return json_value(field, value)


def differences(stored: object, fields: dict[str, Any]) -> str:
    """The fields of `stored` that differ from `fields`, as "name 'stored' (given 'new')"."""
    return ", ".join(
        f"{key} {_short(getattr(stored, key))} (given {_short(value)})"
        for key, value in sorted(fields.items())
        if getattr(stored, key) != value
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
