"""Write–audit–publish on the versioned store, as plain functions (no Dagster context).

An asset writes on its own run branch (`run-<run id>-<asset>[-<partition>]`) created from a
resolved commit of main, commits there with the verdict of its checks in the commit metadata,
and only when every blocking check passed is the branch merged into main. A failed audit leaves
main untouched and the branch in place for inspection; a crash leaves at most staged objects on
that branch, which the next attempt resets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from resources.storage import JSON, PARQUET, json_bytes, table_bytes
from resources.versioning import ConflictError, MergeConflictError, VersionedStore

CHECKS_KEY = "fleetloop.checks"  # commit metadata: "passed" | "failed"
ASSET_KEY = "fleetloop.asset"
_PUBLISH_RETRIES = 8


def run_branch_name(run_id: str, asset: str, partition: str | None = None) -> str:
    name = f"run-{run_id[:8]}-{asset}" + (f"-{partition}" if partition else "")
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def lakefs_uri(repository: str, ref: str, path: str = "") -> str:
    return f"lakefs://{repository}/{ref}/{path}"


@dataclass(frozen=True)
class Publication:
    branch: str
    commit_id: str  # the audited commit on the run branch
    published_id: str | None  # the merge commit on main, None when the audit failed
    # where it was published, so its links open in that store's browser (assets/links.py)
    store: VersionedStore | None = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.published_id is not None

    @property
    def data_version(self) -> str:
        return self.published_id or self.commit_id


class RunBranch:
    """One asset's writes in one run: open, write, commit, then publish or keep."""

    def __init__(
        self,
        store: VersionedStore,
        repository: str,
        run_id: str,
        asset: str,
        *,
        partition: str | None = None,
        main: str = "main",
    ):
        self.store, self.repository, self.main, self.asset = store, repository, main, asset
        self.name = run_branch_name(run_id, asset, partition)
        self.docs_prefixes: list[str] = []  # where this run staged Data Docs (put_docs)
        # exist_ok: a retried step reuses its branch; reset drops what a crashed attempt staged.
        ref = store.create_branch(repository, self.name, main, exist_ok=True)
        store.reset(repository, self.name)
        self.base = ref.commit_id

    def uri(self, path: str, ref: str | None = None) -> str:
        return lakefs_uri(self.repository, ref or self.name, path)

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

    def remove(self, path: str) -> None:
        """Delete `path` on the run branch if it is there: a stale output this run replaces
        with nothing."""
        if self.store.exists(self.repository, self.name, path):
            self.store.delete(self.repository, self.name, path)

    def put_table(self, path: str, df: pl.DataFrame) -> None:
        self.put(path, table_bytes(df), content_type=PARQUET, metadata={"rows": str(df.height)})

    def put_json(self, path: str, value: object) -> None:
        self.put(path, json_bytes(value), content_type=JSON)

    def put_tree(self, prefix: str, files: Mapping[str, bytes]) -> None:
        """A directory of files (e.g. a Data Docs site) under `prefix`."""
        for relative, data in files.items():
            self.put(f"{prefix.rstrip('/')}/{relative}", data, content_type=_content_type(relative))

    def put_docs(self, prefix: str, files: Mapping[str, bytes]) -> None:
        """A validation's Data Docs site under `prefix`. Docs describe the data beside them, so
        a run whose only changes are docs changed nothing worth publishing (`publish`)."""
        self.put_tree(prefix, files)
        self.docs_prefixes.append(prefix.rstrip("/") + "/")

    def commit(
        self, message: str, *, passed: bool, metadata: Mapping[str, str] | None = None
    ) -> str:
        meta = {
            **(metadata or {}),
            ASSET_KEY: self.asset,
            CHECKS_KEY: "passed" if passed else "failed",
        }
        return self.store.commit(
            self.repository, self.name, message, metadata=meta, allow_empty=True
        ).id

    def publish(self, commit_id: str, passed: bool, message: str) -> Publication:
        """Merge the audited branch into main when it passed; keep it for inspection if not."""
        if not passed:
            return Publication(self.name, commit_id, None, self.store)
        if not self.changes_data(commit_id):
            # The run changed no data since it branched (a re-run on the same input): main
            # already holds it, and another merge commit would only say so again. A Data Docs
            # page of this run stays readable at `commit_id`, which its check links to.
            self.store.delete_branch(self.repository, self.name)
            head = self.store.resolve(self.repository, self.main)
            return Publication(self.name, commit_id, head, self.store)
        for attempt in range(_PUBLISH_RETRIES):
            try:
                merged = self.store.merge(
                    self.repository,
                    self.name,
                    self.main,
                    message=message,
                    metadata={ASSET_KEY: self.asset, CHECKS_KEY: "passed"},
                )
                break
            except MergeConflictError:
                raise
            except ConflictError:  # another run moved main between our read and our merge
                if attempt == _PUBLISH_RETRIES - 1:
                    raise
        self.store.delete_branch(self.repository, self.name)
        return Publication(self.name, commit_id, merged.id, self.store)

    def changes_data(self, commit_id: str) -> bool:
        """Whether the audited commit changes main in anything but its Data Docs pages (each
        run renders its own, named by its run time)."""
        changes = self.store.diff(self.repository, self.main, commit_id)
        return any(not c.path.startswith(tuple(self.docs_prefixes)) for c in changes)


def open_run(store_resource, run_id: str, asset: str, partition: str | None = None) -> RunBranch:
    """The run branch of `asset` in run `run_id`, on the store and main branch the resource
    configures: the one way assets open their writes."""
    return RunBranch(
        store_resource.ensure_repository(),
        store_resource.repository,
        run_id,
        asset,
        partition=partition,
        main=store_resource.main_branch,
    )


def _content_type(path: str) -> str:
    suffix = path.rsplit(".", 1)[-1].lower()
    return {
        "html": "text/html",
        "css": "text/css",
        "js": "text/javascript",
        "json": JSON,
        "png": "image/png",
        "svg": "image/svg+xml",
        "md": "text/markdown",
        "parquet": PARQUET,
    }.get(suffix, "application/octet-stream")
