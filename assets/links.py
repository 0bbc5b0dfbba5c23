"""Addresses a browser can open for objects in the store, next to their `lakefs://` URIs.

On lakeFS a link is the lakeFS UI's object page (`<endpoint>/repositories/<repo>/object?ref=
<ref>&path=<path>`, the route of lakeFS's webui); on the embedded store it is fleetloop's
read-only store view (`<base>/<repo>/<ref>/<path>`, `fleetloop ui` serves it), whose base is
`$FLEETLOOP_STORE_VIEW_URL`. Which one comes from the store itself: a backend with a web UI of
its own names its address.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from resources.settings import store_view_url
from resources.versioning import VersionedStore


@dataclass(frozen=True)
class StoreBrowser:
    """Where objects open in a browser: the lakeFS UI at `base`, or fleetloop's store view."""

    base: str
    lakefs_ui: bool = False

    def url(self, repository: str, ref: str, path: str = "") -> str:
        return object_url(self, repository, ref, path)


def object_url(browser: StoreBrowser, repository: str, ref: str, path: str = "") -> str:
    """The http(s) address of `path` (an object, or a prefix ending in '/') at `ref`."""
    base = browser.base.rstrip("/")
    if browser.lakefs_ui:
        query = urlencode({"ref": ref, "path": path}, quote_via=quote)
        return f"{base}/repositories/{quote(repository, safe='')}/object?{query}"
    return f"{base}/{quote(repository, safe='')}/{quote(ref, safe='')}/{quote(path)}"


def store_browser(store: VersionedStore | None = None) -> StoreBrowser:
    """The browser for `store`: its own web UI when it has one, else the store view at
    `$FLEETLOOP_STORE_VIEW_URL` (read at call time)."""
    endpoint = store.web_endpoint() if store is not None else None
    if endpoint:
        return StoreBrowser(endpoint, lakefs_ui=True)
    return StoreBrowser(store_view_url())
