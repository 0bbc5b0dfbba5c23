"""The review app through starlette's TestClient on a real store and a real SQLite catalog:
pages, images, boxes, flags, and every bad input answered with a 4xx that says what is wrong."""

from __future__ import annotations

import io

import polars as pl
import pytest
from PIL import Image
from starlette.testclient import TestClient

from entrypoints.review import create_app
from resources.layout import drive_path
from resources.storage import read_table
from resources.versioning.local import LocalStore
from tests.review.conftest import REPO, REVIEWER, SURE, UNSURE, VERSION, card, frame_ids_on


def test_all_frames_in_pages(client, frames):
    ids = frames["frame_id"].to_list()
    first = client.get("/")
    assert first.status_code == 200
    assert frame_ids_on(first.text) == ids[:10]
    assert "frames 1–10 of 24" in first.text and "page 1 of 3" in first.text
    assert f"cone_detector {VERSION} (production)" in first.text
    assert f"flagging as <strong>{REVIEWER}</strong>" in first.text
    last = client.get("/?page=3")
    assert frame_ids_on(last.text) == ids[20:]
    assert 'rel="prev" href="/?page=2&amp;min_conf=0.5"' in last.text
    assert 'rel="next"' not in last.text


def test_security_headers_and_stylesheet(client):
    page = client.get("/")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    css = client.get("/static/review.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_slice_frames_come_best_first(client, store):
    members = read_table(store, REPO, "main", "slices/hard.parquet").sort("rank")
    page = client.get("/slices/hard")
    assert page.status_code == 200
    assert frame_ids_on(page.text) == members["frame_id"].to_list()[:10]
    assert 'aria-current="page">hard</a>' in page.text


def test_image_is_the_drive_logs_png(client, store, frames):
    row = frames.row(13, named=True)
    response = client.get(f"/frames/{row['frame_id']}/image.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    log = read_table(store, REPO, "main", drive_path(row["drive_id"]))
    assert response.content == log["image"][row["image_row"]]
    assert Image.open(io.BytesIO(response.content)).size == (row["width"], row["height"])


def test_boxes_follow_the_threshold(client, predictions):
    frame_id = predictions.group_by("frame_id").len().filter(pl.col("len") >= 2)["frame_id"][0]
    boxes = predictions.filter(pl.col("frame_id") == frame_id)
    page = next(
        p for p in (1, 2, 3) if f'data-frame-id="{frame_id}"' in client.get(f"/?page={p}").text
    )
    sure = card(client.get(f"/?page={page}").text, frame_id)
    assert sure.count("<rect") == 1 and f"{SURE:.2f}" in sure and f"{UNSURE:.2f}" not in sure
    top = boxes.row(0, named=True)
    assert f'<rect x="{round(top["x0"], 2)}" y="{round(top["y0"], 2)}"' in sure
    assert f">{top['cls'].removesuffix('_cone')} {SURE:.2f}</text>" in sure  # on the image
    assert f"{top['cls']} <span>{SURE:.2f}</span>" in sure  # in the legend
    everything = card(client.get(f"/?page={page}&min_conf=0.1").text, frame_id)
    assert everything.count("<rect") == boxes.height


def test_flag_posts_a_catalog_row_and_marks_the_card(client, catalog, frames):
    frame_id = frames["frame_id"][4]
    back = "/?page=1&min_conf=0.5"
    response = client.post(
        f"/frames/{frame_id}/flags",
        data={"reason": "  missed a\n green cone ", "next": back},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{back}#frame-{frame_id}"
    [flag] = catalog.flags()
    assert (flag.frame_id, flag.reason, flag.flagged_by, flag.model_version) == (
        frame_id,
        "missed a green cone",
        REVIEWER,
        VERSION,
    )
    shown = card(client.get(back).text, frame_id)
    assert 'class="card flagged"' in client.get(back).text
    assert f"<strong>Flagged</strong> by {REVIEWER}" in shown and "missed a green cone" in shown
    again = client.post(f"/frames/{frame_id}/flags", data={"reason": "missed a green cone"})
    assert again.status_code == 200 and len(catalog.flags()) == 1  # a double click: one flag


def test_everything_shown_is_escaped(client, catalog, frames):
    frame_id = frames["frame_id"][0]
    client.post(f"/frames/{frame_id}/flags", data={"reason": "<script>alert(1)</script> & co"})
    page = client.get("/").text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    bad = client.get("/slices/%3Cb%3E")
    assert bad.status_code == 400 and "<b>" not in bad.text and "&#39;&lt;b&gt;&#39;" in bad.text


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/?page=0", 400, "page must be a whole number &gt;= 1"),
        ("/?page=two", 400, "page must be a whole number"),
        ("/?page=4", 404, "page 4 is past the last page (3)"),
        ("/?min_conf=1.5", 400, "min_conf must be a number from 0 to 1"),
        ("/?min_conf=nan", 400, "min_conf must be a number from 0 to 1"),
        ("/slices/nope", 404, "no slice &#39;nope&#39; on &#39;main&#39; (slices: hard)"),
        ("/frames/d9999-00000/image.png", 404, "&#39;d9999-00000&#39; is not among the frames"),
        ("/no/such/page", 404, "Not Found"),
    ],
)
def test_bad_pages_say_why(client, url, status, message):
    response = client.get(url)
    assert response.status_code == status
    assert message in response.text


@pytest.mark.parametrize(
    ("post", "status", "message"),
    [
        ({"data": {"reason": "   "}}, 400, "reason is empty"),
        ({"data": {"reason": "x" * 501}}, 400, "reason is 501 characters long; at most 500"),
        ({"data": {"reason": "nul \x00 byte"}}, 400, "must not contain control characters"),
        ({"data": {"next": "/"}}, 400, "reason is empty"),
        ({"json": {"reason": "json"}}, 415, "application/x-www-form-urlencoded"),
        ({"data": {"reason": "x" * 9000}}, 413, "form larger than 8192 bytes"),
        (
            {"data": {"reason": "r"}, "headers": {"origin": "http://evil.example"}},
            403,
            "refusing a form posted from another origin",
        ),
    ],
)
def test_bad_flags_are_refused(client, catalog, frames, post, status, message):
    response = client.post(f"/frames/{frames['frame_id'][0]}/flags", **post)
    assert response.status_code == status
    assert message in response.text
    assert catalog.flags() == []


def test_unknown_frame_cannot_be_flagged(client, catalog):
    response = client.post("/frames/d9999-00000/flags", data={"reason": "ghost"})
    assert response.status_code == 404
    assert "frame &#39;d9999-00000&#39; is not among the frames on" in response.text
    assert catalog.flags() == []


def test_redirect_stays_on_this_server(client, frames):
    frame_id = frames["frame_id"][1]
    for target in ("//evil.example/x", "http://evil.example/", "/\\evil.example", "nowhere"):
        response = client.post(
            f"/frames/{frame_id}/flags",
            data={"reason": f"to {target}", "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == f"/#frame-{frame_id}"


def test_other_hosts_are_refused(store, catalog):
    app = create_app(store, catalog, repo=REPO)
    with TestClient(app, base_url="http://rebound.example") as client:
        assert client.get("/").status_code == 400


def test_empty_repository_says_to_ingest(tmp_path, catalog):
    store = LocalStore(tmp_path / "store")
    store.create_repository(REPO, "main")
    with TestClient(create_app(store, catalog, repo=REPO), base_url="http://127.0.0.1") as client:
        response = client.get("/")
    assert response.status_code == 404
    assert "no frames (frames/drives/) on &#39;main&#39;" in response.text
