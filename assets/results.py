"""What every store-backed asset reports to Dagster: the commit it produced as its data
version, the data's `lakefs://repo/<commit>/<path>` URI, and links a browser opens to the data
and to its Data Docs (assets/links.py: the lakeFS UI, or fleetloop's store view)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from assets.links import store_browser
from assets.publishing import Publication, RunBranch, lakefs_uri
from quality.checks import with_data_docs
from quality.gx_runner import Validation
from resources.versioning import VersionedStore


def store_metadata(
    repository: str,
    commit: str,
    paths: Sequence[str],
    *,
    branch: str | None = None,
    store: VersionedStore | None = None,
) -> dict[str, Any]:
    """The commit, the first path's `lakefs://` URI (text: a browser cannot open it) and its
    `store_url`, which opens in a browser (assets/links.py); on lakeFS also `lakefs_ui_url`."""
    path = paths[0] if paths else ""
    browser = store_browser(store)
    meta: dict[str, Any] = {
        "store_commit": dg.MetadataValue.text(commit),
        "lakefs_uri": dg.MetadataValue.text(lakefs_uri(repository, commit, path)),
        "store_url": dg.MetadataValue.url(browser.url(repository, commit, path)),
    }
    if ui := browser.ui_url(repository, commit, path):
        meta["lakefs_ui_url"] = dg.MetadataValue.url(ui)
    if len(paths) > 1:
        meta["paths"] = dg.MetadataValue.json(list(paths))
    if branch:
        meta["store_branch"] = dg.MetadataValue.text(branch)
    return meta


def published(
    publication: Publication,
    repository: str,
    paths: Sequence[str],
    metadata: Mapping[str, Any] | None = None,
) -> dg.MaterializeResult:
    """The materialization of a published run branch: its merge commit is the data version."""
    commit = publication.data_version
    meta = store_metadata(repository, commit, paths, store=publication.store)
    return dg.MaterializeResult(
        metadata={**meta, **(metadata or {})},
        data_version=dg.DataVersion(commit),
    )


def commit_docs(run: RunBranch, prefix: str, validation: Validation) -> str:
    """Stage a validation's Data Docs under `prefix` on the run branch; the page's store path."""
    run.put_docs(prefix, validation.docs)
    return f"{prefix.rstrip('/')}/{validation.docs_page or 'index.html'}"


def docs_linked(
    result: dg.AssetCheckResult, run: RunBranch, commit: str, docs_path: str
) -> dg.AssetCheckResult:
    """`result` pointing at its Data Docs page at the commit that holds them: `data_docs` opens
    it rendered (the store view), `data_docs_uri` is the page's `lakefs://` URI, and on lakeFS
    `data_docs_lakefs_ui` is its lakeFS UI object page."""
    browser = store_browser(run.store)
    linked = with_data_docs(result, browser.url(run.repository, commit, docs_path))
    meta = {
        **linked.metadata,
        "data_docs_uri": dg.MetadataValue.text(lakefs_uri(run.repository, commit, docs_path)),
    }
    if ui := browser.ui_url(run.repository, commit, docs_path):
        meta["data_docs_lakefs_ui"] = dg.MetadataValue.url(ui)
    return linked.with_metadata(meta)


def upstream_value(context: dg.AssetExecutionContext, asset: str, key: str) -> Any:
    """A metadata value of an upstream asset's latest materialization (what this run reads)."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey(asset))
    if event is None or event.asset_materialization is None:
        raise dg.Failure(f"{asset} has never been materialized: materialize it first")
    entry = event.asset_materialization.metadata.get(key)
    if entry is None:
        raise dg.Failure(f"the latest materialization of {asset} has no {key!r} metadata")
    return entry.value
