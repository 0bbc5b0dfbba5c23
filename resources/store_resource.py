"""The versioned store as a Dagster resource: an interface with two implementations.

`LocalStoreResource` is the embedded default; `LakeFSStoreResource` talks to a lakeFS server
whose endpoint and credentials come from `LAKECTL_*` variables (never from code).
`store_resource_from_env()` is the one place that picks between them.
"""

from __future__ import annotations

import abc
import os
from functools import cache

import dagster as dg

from resources.versioning import VersionedStore
from resources.versioning.factory import default_repository


@cache
def _local_store(root: str) -> VersionedStore:
    from resources.versioning.local import LocalStore

    return LocalStore(root or None)


class VersionedStoreResource(dg.ConfigurableResource, abc.ABC):
    """Where every asset of fleetloop keeps its data; `repository` is the one repo used."""

    repository: str = "drive-data"
    main_branch: str = "main"

    @abc.abstractmethod
    def open(self) -> VersionedStore: ...

    def ensure_repository(self) -> VersionedStore:
        store = self.open()
        store.create_repository(self.repository, self.main_branch, exist_ok=True)
        return store


class LocalStoreResource(VersionedStoreResource):
    root: str = ""  # empty: $FLEETLOOP_HOME/store

    def open(self) -> VersionedStore:
        return _local_store(self.root)


class LakeFSStoreResource(VersionedStoreResource):
    def open(self) -> VersionedStore:
        from resources.versioning.lakefs_store import LakeFSStore

        return LakeFSStore()


def store_resource_from_env() -> VersionedStoreResource:
    if os.environ.get("FLEETLOOP_STORE", "local").lower() == "lakefs":
        return LakeFSStoreResource(repository=default_repository())
    return LocalStoreResource(repository=default_repository())
