"""Addresses a browser can open for objects in the store, next to their `lakefs://` URIs.

Two kinds of page show an object. fleetloop's read-only store view (`<base>/<repo>/<ref>/
<path>`, `fleetloop ui` serves it over whichever backend is configured; its base is
`$FLEETLOOP_STORE_VIEW_URL`) answers the object itself with its content type, so an HTML page
such as a Data Docs site renders and its relative links resolve. The lakeFS UI's object page
(`<endpoint>/repositories/<repo>/object?ref=<ref>&path=<path>`, the route of lakeFS's webui)
exists when the store is lakeFS, previews data and shows HTML as source. So an object's link
is the lakeFS UI page on lakeFS, except for HTML, which opens in the store view; on lakeFS the
UI page is given as well. Which backend it is comes from the store: one with a web UI of its
own names its address.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from resources.settings import store_view_url
from resources.versioning import VersionedStore

RENDERED_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class StoreBrowser:
    """Where objects open: fleetloop's store view at `view`, and the lakeFS UI at `lakefs_ui`
    when the store is lakeFS."""

    view: str
    lakefs_ui: str | None = None

    def url(self, repository: str, ref: str, path: str = "") -> str:
        """The page that shows `path` (an object, or a prefix ending in '/') at `ref`."""
        if self.lakefs_ui is None or path.lower().endswith(RENDERED_SUFFIXES):
            return view_url(self.view, repository, ref, path)
        return lakefs_ui_url(self.lakefs_ui, repository, ref, path)

    def ui_url(self, repository: str, ref: str, path: str = "") -> str | None:
        """The lakeFS UI's object page of `path`, or None when the store is not lakeFS."""
        if self.lakefs_ui is None:
            return None
        return lakefs_ui_url(self.lakefs_ui, repository, ref, path)


def view_url(base: str, repository: str, ref: str, path: str = "") -> str:
    """`path` at `ref` in the store view at `base`."""
    return f"{base.rstrip('/')}/{quote(repository, safe='')}/{quote(ref, safe='')}/{quote(path)}"


def lakefs_ui_url(endpoint: str, repository: str, ref: str, path: str = "") -> str:
    """The lakeFS UI's object page of `path` at `ref` on the server at `endpoint`."""
    query = urlencode({"ref": ref, "path": path}, quote_via=quote)
    return f"{endpoint.rstrip('/')}/repositories/{quote(repository, safe='')}/object?{query}"


def store_browser(store: VersionedStore | None = None) -> StoreBrowser:
    """The browser for `store`: the store view at `$FLEETLOOP_STORE_VIEW_URL` (read at call
    time), and the store's own web UI when it has one."""
    endpoint = store.web_endpoint() if store is not None else None
    return StoreBrowser(store_view_url(), lakefs_ui=endpoint or None)
