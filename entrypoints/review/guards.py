"""What keeps other sites and other machines from flagging frames through the review page.

- **Hosts**: the Host header must name one of an explicit list (a DNS-rebinding page, whose
  own name now resolves here, is refused); a pattern such as `*` is not accepted.
- **Origin**: a state-changing request must name this server as its `Origin`, or, without one,
  as its `Referer`; a cross-site form, `Origin: null`, or a script that sends neither is
  refused.
- **Token**: served beyond loopback, every request needs the access token made at the start:
  the `X-Fleetloop-Token` header, the `fleetloop_review_token` cookie (HttpOnly,
  SameSite=Strict), or once `?token=` in the address, answered by a redirect that sets the
  cookie and drops the token from the address bar.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

TOKEN_HEADER, TOKEN_COOKIE, TOKEN_QUERY = "x-fleetloop-token", "fleetloop_review_token", "token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_allowed_hosts(hosts: tuple[str, ...]) -> None:
    if not hosts or any(not host or "*" in host for host in hosts):
        raise ValueError(f"allowed_hosts must name hosts, not patterns: {hosts!r}")


def refuse_cross_origin(request: Request) -> None:
    """A state-changing request must name this server as its `Origin`, or, when the browser
    sent none, as its `Referer`; with neither, nothing says it came from this page."""
    here = f"{request.url.scheme}://{request.headers.get('host')}"
    origin = request.headers.get("origin")
    if origin is not None:
        if origin != here:
            raise HTTPException(403, f"refusing a form posted from another origin ({origin[:100]})")
        return
    referer = request.headers.get("referer")
    if referer is None:
        raise HTTPException(
            403, "refusing a form posted without an Origin or Referer header: flag from the page"
        )
    parts = urlsplit(referer)
    if f"{parts.scheme}://{parts.netloc}" != here:
        raise HTTPException(403, f"refusing a form posted from another page ({referer[:100]})")


class TokenGate:
    """Every request must carry the access token (header, cookie, or `?token=` once, which is
    answered by a redirect that sets the cookie and drops the token from the address bar)."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        offered = request.query_params.get(TOKEN_QUERY)
        if offered is not None and self._valid(offered) and request.method in SAFE_METHODS:
            rest = urlencode(
                [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_QUERY]
            )
            response: Response = RedirectResponse(
                request.url.path + (f"?{rest}" if rest else ""), status_code=303
            )
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            return await response(scope, receive, send)
        if self._valid(request.headers.get(TOKEN_HEADER)) or self._valid(
            request.cookies.get(TOKEN_COOKIE)
        ):
            return await self.app(scope, receive, send)
        response = PlainTextResponse(
            "this review page needs its access token: open the address `fleetloop review` "
            "printed (with ?token=...)",
            status_code=401,
        )
        return await response(scope, receive, send)

    def _valid(self, offered: str | None) -> bool:
        return offered is not None and secrets.compare_digest(offered.encode(), self.token.encode())


def new_token() -> str:
    """A fresh access token (a server start gets one; it is printed once)."""
    return secrets.token_urlsafe(24)
