"""The review page: a local web app to page through frames with the production model's boxes
drawn over them and flag the wrong ones into the catalog.

Routes: `GET /` (every frame) and `GET /slices/{name}` (a slice, best first), 24 frames a page,
`?page=N&min_conf=X`; `GET /frames/{id}/image.png`; `POST /frames/{id}/flags` (a form with
`reason`, answered by a redirect back to the page, so it works without JavaScript).

It is meant for one operator on 127.0.0.1; `entrypoints.review.guards` keeps others out: an
explicit Host list (never `*`), the page's own Origin on every form post, and beyond loopback an
access token on every request.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import jinja2
import polars as pl
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from entrypoints.review.errors import InvalidInputError, ReviewError
from entrypoints.review.flagging import MAX_REASON, MODEL_NAME, flag_frame, production_version
from entrypoints.review.frames import FrameSource
from entrypoints.review.guards import TokenGate, check_allowed_hosts, refuse_cross_origin
from entrypoints.review.overlay import Box, boxes_by_frame, font_size
from resources.catalog import Catalog, CatalogError, InvalidRecordError, ReviewFlag
from resources.versioning import StoreError, VersionedStore

PER_PAGE = 24
DEFAULT_MIN_CONFIDENCE = 0.5
DISPLAY_WIDTH = 256  # CSS pixels per frame; the 64-pixel frames are scaled up, pixelated
MAX_FORM_BYTES = 8192
LOCAL_HOSTS = ("127.0.0.1", "localhost")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; img-src 'self'; style-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    # Not no-referrer: with it, browsers send `Origin: null` on same-origin form posts.
    "referrer-policy": "same-origin",
}


def create_app(
    store: VersionedStore,
    catalog: Catalog,
    *,
    repo: str = "drive-data",
    ref: str = "main",
    reviewer: str = "reviewer",
    model: str = MODEL_NAME,
    per_page: int = PER_PAGE,
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS,
    token: str | None = None,
) -> Starlette:
    """The review app over `repo` at `ref`, flagging as `reviewer` into `catalog`; only
    `allowed_hosts` may be named in the Host header, and with `token` every request needs it."""
    check_allowed_hosts(allowed_hosts)
    review = _Review(FrameSource(store, repo, ref), catalog, reviewer, model, per_page)
    return Starlette(
        routes=[
            Route("/", review.page, methods=["GET"]),
            Route("/slices/{name}", review.page, methods=["GET"]),
            Route("/frames/{frame_id}/image.png", review.image, methods=["GET"]),
            Route("/frames/{frame_id}/flags", review.flag, methods=["POST"]),
            Mount("/static", StaticFiles(packages=[("entrypoints.review", "static")])),
        ],
        middleware=[
            Middleware(_SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
            *([Middleware(TokenGate, token=token)] if token else []),
        ],
        exception_handlers={
            HTTPException: review.error,
            ReviewError: review.error,
            CatalogError: review.error,
            StoreError: review.error,
        },
    )


class _Review:
    def __init__(
        self, frames: FrameSource, catalog: Catalog, reviewer: str, model: str, per_page: int
    ):
        self.frames, self.catalog, self.reviewer, self.model = frames, catalog, reviewer, model
        self.per_page = per_page
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("entrypoints.review", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["urlquote"] = lambda value: quote(str(value), safe="")
        self.templates = Jinja2Templates(env=env)

    def page(self, request: Request) -> Response:
        slice_name = request.path_params.get("name")
        number = _int_param(request, "page", 1)
        min_conf = _confidence_param(request, "min_conf", DEFAULT_MIN_CONFIDENCE)
        commit = self.frames.commit()
        selection = self.frames.selection(commit, slice_name)
        pages = max(1, math.ceil(selection.height / self.per_page))
        if number > pages:
            raise HTTPException(404, f"page {number} is past the last page ({pages})")
        shown = selection.slice((number - 1) * self.per_page, self.per_page)
        ids = shown.get_column("frame_id").to_list()
        predictions = self.frames.predictions(commit, ids)
        cards = _cards(shown, boxes_by_frame(predictions, min_conf), self._open_flags(ids))

        def url(page: int) -> str:
            return _page_url(slice_name, page, min_conf)

        context = {
            "slice_name": slice_name,
            "slices": self.frames.slices(commit),
            "ref": self.frames.ref,
            "commit": commit,
            "model": self.model,
            "production": production_version(self.catalog, self.model),
            "has_predictions": predictions is not None,
            "reviewer": self.reviewer,
            "cards": cards,
            "number": number,
            "pages": pages,
            "total": selection.height,
            "first": (number - 1) * self.per_page + 1,
            "min_conf": min_conf,
            "here": url(number),
            "previous": url(number - 1) if number > 1 else None,
            "next": url(number + 1) if number < pages else None,
            "max_reason": MAX_REASON,
            "display_width": DISPLAY_WIDTH,
        }
        return self.templates.TemplateResponse(request, "frames.html", context)

    def _open_flags(self, frame_ids: list[str]) -> dict[str, list[ReviewFlag]]:
        wanted, found = set(frame_ids), {}
        for flag in self.catalog.flags():
            if flag.frame_id in wanted:
                found.setdefault(flag.frame_id, []).append(flag)
        return found

    def image(self, request: Request) -> Response:
        frames = self.frames
        png = frames.image(frames.commit(), request.path_params["frame_id"])
        return Response(png, media_type="image/png", headers={"cache-control": "no-cache"})

    async def flag(self, request: Request) -> Response:
        frame_id = request.path_params["frame_id"]
        refuse_cross_origin(request)
        form = await _form(request)
        back = _local_path(form.get("next", "/"))
        await run_in_threadpool(
            flag_frame,
            self.catalog,
            self.frames,
            frame_id,
            form.get("reason", ""),
            flagged_by=self.reviewer,
            model=self.model,
        )
        return RedirectResponse(f"{back}#{quote(card_id(frame_id), safe='')}", status_code=303)

    def error(self, request: Request, exc: Exception) -> Response:
        status, message = _status(exc)
        context = {"status": status, "message": message}
        return self.templates.TemplateResponse(request, "error.html", context, status_code=status)


def _cards(
    shown: pl.DataFrame, boxes: dict[str, list[Box]], flags: dict[str, list[ReviewFlag]]
) -> list[dict[str, Any]]:
    """What the template shows per frame: its row, boxes, open flags and display size."""
    return [
        {
            **row,
            "boxes": boxes.get(row["frame_id"], []),
            "flags": flags.get(row["frame_id"], []),
            "font": font_size(row["width"]),
            "display_height": round(DISPLAY_WIDTH * row["height"] / row["width"]),
        }
        for row in shown.iter_rows(named=True)
    ]


def card_id(frame_id: str) -> str:
    """The HTML id of a frame's card (the redirect after a flag scrolls back to it)."""
    return f"frame-{frame_id}"


def _status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, InvalidInputError | InvalidRecordError):
        return 400, str(exc)
    if isinstance(exc, LookupError):
        return 404, str(exc)
    return 503, f"{type(exc).__name__}: {exc}"  # the store or catalog cannot be read


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise InvalidInputError(f"{name} must be a whole number >= 1, got {raw[:20]!r}")
    return int(raw)


def _confidence_param(request: Request, name: str, default: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise InvalidInputError(f"{name} must be a number from 0 to 1, got {raw[:20]!r}")
    return value


def _page_url(slice_name: str | None, page: int, min_conf: float) -> str:
    path = f"/slices/{quote(slice_name, safe='')}" if slice_name else "/"
    return f"{path}?{urlencode({'page': page, 'min_conf': f'{min_conf:g}'})}"


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (no multipart: nothing here uploads files)."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the form as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, f"form larger than {MAX_FORM_BYTES} bytes")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=8))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInputError(f"unreadable form: {error}") from None


def _local_path(target: str) -> str:
    """`target` if it is a path on this server, else `/` (never redirect to another site)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or "\\" in target:
        return "/"
    if parts.path.startswith("//"):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


class _SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every HTTP response (a plain ASGI middleware)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        return await self.app(scope, receive, send_with_headers)
