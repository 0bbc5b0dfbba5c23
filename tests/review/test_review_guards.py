"""What keeps other sites and other machines from flagging frames: the page's own `Origin` (or
`Referer`) on every form post, an explicit list of host names (never `*`, so a DNS-rebinding
page is refused), and beyond loopback an access token made at each start."""

from __future__ import annotations

import re

import pytest
import uvicorn
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from entrypoints.cli import main
from entrypoints.cli.review import allowed_hosts
from entrypoints.review import create_app
from entrypoints.review.guards import TOKEN_COOKIE, TOKEN_HEADER
from tests.review.conftest import BASE, REPO, REVIEWER


@pytest.fixture
def bare(store, catalog):
    """The app on loopback through a client that sends no Origin of its own."""
    app = create_app(store, catalog, repo=REPO, reviewer=REVIEWER)
    with TestClient(app, base_url=BASE) as client:
        yield client


@pytest.fixture
def frame(frames) -> str:
    return frames["frame_id"][2]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "without an Origin or Referer header"),
        ({"origin": "null"}, "from another origin (null)"),  # sandboxed frames, file:// pages
        ({"origin": "http://evil.example"}, "from another origin"),
        ({"origin": "http://127.0.0.1:9999"}, "from another origin"),  # another port
        ({"origin": "https://127.0.0.1"}, "from another origin"),  # another scheme
        ({"referer": "http://evil.example/page"}, "from another page"),
        ({"referer": "http://127.0.0.1.evil.example/"}, "from another page"),
        ({"referer": "not a url"}, "from another page"),
    ],
)
def test_a_flag_post_not_from_this_page_is_refused(
    bare, catalog, frame, headers, message, bad_inputs
):
    response = bare.post(f"/frames/{frame}/flags", data={"reason": "steered"}, headers=headers)
    assert response.status_code == 403
    assert message in response.text
    assert catalog.flags() == []
    bad_inputs.count()


def test_a_same_origin_referer_stands_in_for_a_missing_origin(bare, catalog, frame):
    response = bare.post(
        f"/frames/{frame}/flags",
        data={"reason": "missed cone"},
        headers={"referer": f"{BASE}/slices/hard?page=1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert [f.frame_id for f in catalog.flags()] == [frame]


def test_allowed_hosts_are_names_not_patterns(store, catalog):
    for hosts in (("*",), ("*.example.com",), ()):
        with pytest.raises(ValueError, match="must name hosts"):
            create_app(store, catalog, repo=REPO, allowed_hosts=hosts)


def test_a_wildcard_bind_keeps_an_explicit_host_list():
    hosts = allowed_hosts("0.0.0.0", ("review.lab.example",))
    assert "*" not in hosts and {"127.0.0.1", "localhost", "review.lab.example"} <= set(hosts)
    assert allowed_hosts("10.1.2.3") == ("127.0.0.1", "localhost", "10.1.2.3")


@pytest.fixture
def serve(home, catalog_url, monkeypatch):
    """`fleetloop review ARGS`, with uvicorn replaced by a catcher: the app and what it printed."""
    monkeypatch.setenv("FLEETLOOP_HOME", str(home))
    monkeypatch.setenv("FLEETLOOP_STORE", "local")
    monkeypatch.delenv("FLEETLOOP_REPOSITORY", raising=False)

    def invoke(*args: str):
        served = {}
        monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
        result = CliRunner().invoke(main, ["review", *args])
        assert result.exit_code == 0, result.output
        return served["app"], result

    return invoke


def _token(output: str) -> str:
    [token] = re.findall(r"\?token=([A-Za-z0-9_-]+)", output)
    return token


def test_beyond_loopback_every_request_needs_the_token(serve, catalog, frames):
    app, result = serve("--host", "0.0.0.0", "--allow-host", "review.lab.example")
    token = _token(result.output)
    assert result.output.count(token) == 1  # printed once
    base = "http://review.lab.example:8765"
    with TestClient(app, base_url=base, follow_redirects=False) as client:
        for path in ("/", "/slices/hard", f"/frames/{frames['frame_id'][0]}/image.png"):
            assert client.get(path).status_code == 401, path
        refused = client.post(
            f"/frames/{frames['frame_id'][0]}/flags", data={"reason": "x"}, headers={"origin": base}
        )
        assert refused.status_code == 401
        assert client.get("/", params={"token": "wrong"}).status_code == 401
        assert client.get("/", headers={TOKEN_HEADER: token}).status_code == 200

        entry = client.get("/slices/hard", params={"token": token, "page": "1"})
        assert entry.status_code == 303 and entry.headers["location"] == "/slices/hard?page=1"
        cookie = entry.headers["set-cookie"]
        assert f"{TOKEN_COOKIE}={token}" in cookie
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert client.get("/slices/hard?page=1").status_code == 200  # the cookie from now on
        flagged = client.post(
            f"/frames/{frames['frame_id'][0]}/flags",
            data={"reason": "missed cone"},
            headers={"origin": base},
        )
        assert flagged.status_code == 303
    assert len(catalog.flags()) == 1


def test_a_dns_rebinding_page_is_refused_even_with_a_wildcard_bind(serve, catalog, frames):
    app, result = serve("--host", "0.0.0.0")
    token = _token(result.output)
    # The attacker's name now resolves to this machine; the browser sends its own Host and
    # Origin. Even a leaked token does not help it past the host list.
    rebound = "http://rebound.attacker.example:8765"
    with TestClient(app, base_url=rebound, follow_redirects=False) as client:
        client.cookies.set(TOKEN_COOKIE, token)
        assert client.get("/").status_code == 400
        post = client.post(
            f"/frames/{frames['frame_id'][0]}/flags",
            data={"reason": "steer the flagged slice"},
            headers={"origin": rebound},
        )
        assert post.status_code == 400
    assert catalog.flags() == []


def test_each_start_makes_a_new_token(serve):
    _, first = serve("--host", "0.0.0.0")
    _, second = serve("--host", "0.0.0.0")
    assert _token(first.output) != _token(second.output)
    assert len(_token(first.output)) >= 32


def test_loopback_needs_no_token(serve):
    app, result = serve("--host", "127.0.0.1")
    assert "token" not in result.output
    with TestClient(app, base_url=BASE) as client:
        assert client.get("/").status_code == 200


origins = st.one_of(
    st.none(),
    st.just(BASE),
    st.sampled_from(["null", "http://127.0.0.1:80", "http://localhost", "https://127.0.0.1"]),
    st.builds(lambda host: f"http://{host}", st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True)),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
)
referers = st.one_of(
    st.none(),
    st.builds(lambda path: f"{BASE}/{path}", st.from_regex(r"[a-z0-9/?=&]{0,20}", fullmatch=True)),
    st.builds(lambda o: f"{o}/page", origins.filter(lambda o: o is not None)),
)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(origin=origins, referer=referers)
def test_a_post_is_accepted_only_from_this_origin(
    bare, catalog, frame, origin, referer, bad_inputs
):
    headers = {k: v for k, v in (("origin", origin), ("referer", referer)) if v is not None}
    response = bare.post(
        f"/frames/{frame}/flags",
        data={"reason": "missed cone"},
        headers=headers,
        follow_redirects=False,
    )
    same = origin == BASE if origin is not None else (referer or "").startswith(f"{BASE}/")
    assert response.status_code == (303 if same else 403), (headers, response.text[:200])
    if not same:
        bad_inputs.count()
    assert len(catalog.flags()) <= 1  # accepted posts are the same open flag
