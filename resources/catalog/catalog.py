"""`Catalog`: the one object callers hold; each domain noun contributes its calls to it."""

from __future__ import annotations

from resources.catalog.database import Database, catalog_url
from resources.catalog.decisions import Promotions
from resources.catalog.flags import ReviewFlags
from resources.catalog.labeling import Labeling
from resources.catalog.models import ModelRegistry
from resources.catalog.timings import CycleTimings


class Catalog(ModelRegistry, Promotions, Labeling, ReviewFlags, CycleTimings):
    """The catalog at `url` (default: `$FLEETLOOP_CATALOG_URL`, else SQLite under
    `$FLEETLOOP_HOME`); tables are created on first use. Safe to share between threads; give
    each process its own (`CatalogResource` does), as connections do not survive a fork."""

    def __init__(self, url: str | None = None):
        self._db = Database(catalog_url(url))

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return self._db.display_url

    def close(self) -> None:
        self._db.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog({self.url!r})"
