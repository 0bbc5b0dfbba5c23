"""The catalog's exception hierarchy: every catalog call raises these and nothing else.

Database errors are translated at the boundary (`Database`), so callers never see SQLAlchemy's
types, and each message names the record and says what to do next.
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base of every error the catalog raises."""


class InvalidRecordError(CatalogError, ValueError):
    """An argument the catalog will not store (an empty name, a bad status, a negative count)."""


class UnknownRecordError(CatalogError, LookupError):
    """A record that the call refers to does not exist."""


class UnknownModelError(UnknownRecordError):
    """No such model version (or no model of that name at all)."""


class UnknownRequestError(UnknownRecordError):
    """No such labeling request."""


class UnknownFlagError(UnknownRecordError):
    """No such review flag."""


class RecordConflictError(CatalogError):
    """The call contradicts what the catalog already holds under the same natural key."""


class CatalogUnavailableError(CatalogError):
    """The database cannot be reached or used (bad URL, missing driver, locked for too long)."""
