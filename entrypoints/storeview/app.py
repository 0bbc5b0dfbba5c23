"""The store view: a read-only HTTP view of the versioned store, so links in Dagster open.

`GET /<repo>/<ref>/<path>` answers the object at that ref with its stored content type (a Data
Docs page renders, and its relative links to css and js resolve to their siblings);
`GET /<repo>/<ref>/<prefix>/` lists a prefix, and a prefix asked for without its slash is
redirected to it so relative links work; `/` lists repositories and `/<repo>/` its branches
and tags. Only GET and HEAD are routed. The ref is resolved once per request and everything
is read at that commit. Like the review page it is meant for 127.0.0.1: the Host header must
name one of an explicit list (`entrypoints.review.guards`).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from entrypoints.review.app import LOCAL_HOSTS
from entrypoints.review.guards import check_allowed_hosts
from resources.versioning import StoreError, VersionedStore
from resources.versioning.errors import AmbiguousRefError, InvalidArgumentError, NotFoundError
from resources.versioning.records import CommonPrefix

CHUNK = 1 << 20
READ_ONLY = ["GET", "HEAD"]
HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


def create_app(store: VersionedStore, *, allowed_hosts: tuple[str, ...] = LOCAL_HOSTS) -> Starlette:
    """The store view over `store`; only `allowed_hosts` may be named in the Host header."""
    check_allowed_hosts(allowed_hosts)
    view = _View(store)
    return Starlette(
        routes=[
            Route("/", view.repositories, methods=READ_ONLY),
            Route("/{repo}/", view.refs, methods=READ_ONLY),
            Route("/{repo}/{ref}/{path:path}", view.path, methods=READ_ONLY),
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))],
        exception_handlers={HTTPException: _error, StoreError: _error},
    )


class _View:
    def __init__(self, store: VersionedStore):
        self.store = store

    def repositories(self, request: Request) -> Response:
        names = [repo.name for repo in self.store.list_repositories()]
        return _listing("repositories", [(f"{quote(n, safe='')}/", n) for n in names])

    def refs(self, request: Request) -> Response:
        repo = request.path_params["repo"]
        refs = self.store.list_branches(repo) + self.store.list_tags(repo)
        rows = [(f"{quote(r.name, safe='')}/", f"{r.name}  {r.commit_id[:12]}") for r in refs]
        return _listing(f"{repo}: branches and tags", rows)

    def path(self, request: Request) -> Response:
        repo, ref = request.path_params["repo"], request.path_params["ref"]
        path = _clean_path(request.path_params["path"])
        commit = self.store.resolve(repo, ref)
        if path == "" or path.endswith("/"):
            return self._listing(repo, ref, commit, path)
        try:
            stat = self.store.stat(repo, commit, path)
        except NotFoundError:
            if next(iter(self.store.list_objects(repo, commit, path + "/", max_amount=1)), None):
                return RedirectResponse(f"{request.url.path}/", status_code=307)
            raise
        headers = {**HEADERS, "content-length": str(stat.size), "etag": f'"{stat.checksum}"'}
        if request.method == "HEAD":
            return Response(headers=headers, media_type=stat.content_type)
        return StreamingResponse(
            self._chunks(repo, commit, path), media_type=stat.content_type, headers=headers
        )

    def _chunks(self, repo: str, commit: str, path: str) -> Iterator[bytes]:
        with self.store.open_reader(repo, commit, path) as reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    def _listing(self, repo: str, ref: str, commit: str, prefix: str) -> Response:
        entries = list(self.store.list_objects(repo, commit, prefix, delimiter="/"))
        if prefix and not entries:
            raise HTTPException(404, f"nothing under {prefix!r} in {repo} at {ref}")
        rows = [("../", "..")] if prefix else []
        for entry in entries:
            name = entry.path[len(prefix) :]
            size = "" if isinstance(entry, CommonPrefix) else f"  {entry.size} bytes"
            rows.append((quote(name), name + size))
        return _listing(f"{repo} @ {ref} ({commit[:12]}): /{prefix}", rows)


def _clean_path(path: str) -> str:
    """`path` if it names something inside the repository; `..`, `.`, empty segments,
    backslashes and control characters are refused (400), never resolved."""
    segments = path.split("/")
    inner = segments[:-1] if path.endswith("/") else segments
    if path and any(s in ("", ".", "..") for s in inner):
        raise HTTPException(400, f"refusing the path {path[:200]!r}: no '.', '..' or '//'")
    if "\\" in path or any(ord(c) < 0x20 for c in path):
        raise HTTPException(400, "refusing a path with a backslash or a control character")
    return path


def _listing(title: str, rows: list[tuple[str, str]]) -> HTMLResponse:
    items = "\n".join(
        f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>' for href, text in rows
    )
    page = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><ul>\n{items}\n</ul>"
    )
    return HTMLResponse(page, headers=HEADERS)


def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
    elif isinstance(exc, InvalidArgumentError | AmbiguousRefError):
        status, message = 400, str(exc)
    elif isinstance(exc, NotFoundError):
        status, message = 404, str(exc)
    else:  # the store cannot be read right now
        status, message = 503, f"{type(exc).__name__}: {exc}"
    return PlainTextResponse(message, status_code=status, headers=HEADERS)
