"""What every catalog table shares: its own SQLModel registry, UTC timestamps and JSON columns.

The catalog keeps its tables in a registry of its own, so `create_all` creates only the
catalog's tables even when other parts of a process declare SQLModel tables of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class CatalogModel(SQLModel, registry=registry()):
    """Base of the catalog's tables; instances handed to callers are detached plain records."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no time zone and PostgreSQL answers in the session's zone; normalising here
    means a record reads the same on both. A naive datetime is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
