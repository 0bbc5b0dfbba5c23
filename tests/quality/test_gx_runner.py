"""The GX runner: Data Docs per call, outcomes in suite order, and GX imported only when used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from quality.checks import check_result, with_data_docs
from quality.gx_runner import gx_module, run_suite
from quality.summary import validation_markdown

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def two_validations():
    gxe = gx_module().expectations
    frame = pl.DataFrame({"frame_id": ["a", "b", "b"], "speed": [1.0, 2.0, 99.0]})
    first = run_suite(frame, "first_suite", [gxe.ExpectColumnValuesToBeUnique(column="frame_id")])
    second = run_suite(
        frame,
        "second_suite",
        [
            gxe.ExpectColumnValuesToBeBetween(column="speed", min_value=0, max_value=50),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
        ],
    )
    return first, second


def test_docs_hold_index_and_this_calls_validation_page(two_validations):
    for validation in two_validations:
        pages = [p for p in validation.docs if p.startswith("validations/")]
        assert "index.html" in validation.docs
        assert pages == [validation.docs_page]
        assert validation.docs_page.startswith(f"validations/{validation.suite}/")
        assert validation.suite.encode() in validation.docs[validation.docs_page]
        assert validation.suite.encode() in validation.docs["index.html"]
    first, second = two_validations
    assert b"first_suite" not in second.docs["index.html"]


def test_outcomes_follow_the_suite_and_carry_samples(two_validations):
    _, second = two_validations
    assert [o.type for o in second.results] == [
        "expect_column_values_to_be_between",
        "expect_table_row_count_to_be_between",
    ]
    speed = second.results[0]
    assert (speed.success, speed.unexpected_count, speed.partial_unexpected) == (False, 1, [99.0])
    assert speed.kwargs == {"column": "speed", "min_value": 0, "max_value": 50}
    assert second.results[1].observed_value == 3
    assert second.statistics["unsuccessful_expectations"] == 1


def test_markdown_and_data_docs_link(two_validations):
    first, _ = two_validations
    markdown = validation_markdown(first)
    assert "first_suite" in markdown and "FAILED" in markdown and "'b'" in markdown

    result = check_result("frames_valid", first, rows=3)
    linked = with_data_docs(result, "quality/frames/abc123/index.html")
    assert linked.metadata["data_docs"] == dg.MetadataValue.path("quality/frames/abc123/index.html")
    assert linked.metadata["failed_expectations"] == result.metadata["failed_expectations"]
    url = with_data_docs(result, "https://lakefs.local/api/v1/docs/index.html")
    assert url.metadata["data_docs"] == dg.MetadataValue.url(
        "https://lakefs.local/api/v1/docs/index.html"
    )


def test_importing_quality_does_not_import_great_expectations():
    code = (
        "import importlib, pkgutil, sys, quality\n"
        "names = [m.name for m in pkgutil.walk_packages(quality.__path__, 'quality.')]\n"
        "[importlib.import_module(n) for n in names]\n"
        "assert 'quality.checks' in names and 'quality.suites.labels' in names, names\n"
        "loaded = [m for m in sys.modules if m.startswith('great_expectations')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)
