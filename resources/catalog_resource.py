"""The catalog as a Dagster resource: assets, sensors and the CLI record to the same catalog.

`url` empty means `$FLEETLOOP_CATALOG_URL`, else SQLite at `$FLEETLOOP_HOME/catalog.db`, read
when `open()` is called. A PostgreSQL URL carries a password, so pass it as
`dg.EnvVar("FLEETLOOP_CATALOG_URL")` or leave `url` empty, never as a literal.
"""

from __future__ import annotations

import os
from functools import cache

import dagster as dg

from resources.catalog import Catalog, catalog_url


@cache
def _catalog(url: str, pid: int) -> Catalog:
    # Keyed by pid too: a forked run worker must not reuse its parent's pooled connections.
    return Catalog(url)


class CatalogResource(dg.ConfigurableResource):
    """fleetloop's catalog: model registry, promotion decisions, labeling, flags, timings."""

    url: str = ""

    def open(self) -> Catalog:
        """The `Catalog` for this URL, one per process, tables created on first use."""
        return _catalog(catalog_url(self.url or None), os.getpid())
