"""Write–audit–publish on the versioned store, as plain functions (no Dagster context).

An asset writes on its own run branch (`run-<run id>-<asset>`), commits there, runs its
checks, and only when every blocking check passed is the branch merged into main. A failed
audit leaves main untouched and the branch in place for inspection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from resources.versioning import VersionedStore


def run_branch_name(run_id: str, asset: str) -> str:
    return f"run-{run_id[:8]}-{re.sub(r'[^A-Za-z0-9_-]', '_', asset)}"


def lakefs_uri(repository: str, ref: str, path: str = "") -> str:
    return f"lakefs://{repository}/{ref}/{path}"


@dataclass(frozen=True)
class Publication:
    branch: str
    commit_id: str  # the audited commit on the run branch
    published_id: str | None  # the merge commit on main, None when the audit failed

    @property
    def data_version(self) -> str:
        return self.published_id or self.commit_id


class RunBranch:
    """One asset's writes in one run: open, write, commit, then publish or keep."""

    def __init__(
        self, store: VersionedStore, repository: str, run_id: str, asset: str, main: str = "main"
    ):
        self.store, self.repository, self.main = store, repository, main
        self.name = run_branch_name(run_id, asset)
        self.asset = asset
        # exist_ok: a retried step reuses its branch instead of failing or duplicating data.
        store.create_branch(repository, self.name, main, exist_ok=True)

    def put(
        self,
        path: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.store.put(
            self.repository, self.name, path, data, content_type=content_type, metadata=metadata
        )

    def commit(self, message: str, metadata: Mapping[str, str]) -> str:
        return self.store.commit(
            self.repository, self.name, message, metadata=dict(metadata), allow_empty=True
        ).id

    def publish(
        self, commit_id: str, passed: bool, message: str, metadata: Mapping[str, str]
    ) -> Publication:
        if not passed:
            return Publication(self.name, commit_id, None)
        merged = self.store.merge(
            self.repository, self.name, self.main, message=message, metadata=dict(metadata)
        )
        self.store.delete_branch(self.repository, self.name)
        return Publication(self.name, commit_id, merged.id)
