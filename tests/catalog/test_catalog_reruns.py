"""What the loop records again when it re-runs: a second identical call succeeds and changes
nothing; a different payload under the same key is a conflict that says what differs.

`label_sets` re-run on a published batch names the new merge commit its second publication
made; `weekly_cycle` run twice registers the version it already promoted; the labeling queue
records the request it already sent. Each must succeed without touching the stored row.
"""

from __future__ import annotations

import pytest

from resources.catalog import PRODUCTION, RecordConflictError

BATCH = {
    "request_id": None,
    "source": "label-studio",
    "landing_commit": "1" * 64,
    "published_commit": "2" * 64,
    "frames": 12,
    "boxes": 31,
    "status": "published",
}


def _rows(catalog) -> dict:
    """Everything the catalog holds, as comparable tuples."""
    return {
        "batches": [tuple(b.model_dump().items()) for b in catalog.label_batches()],
        "requests": [tuple(r.model_dump().items()) for r in catalog.requests()],
        "models": [tuple(m.model_dump().items()) for m in catalog.models("cone_detector")],
        "aliases": [tuple(a.model_dump().items()) for a in catalog.alias_history("cone_detector")],
        "decisions": [tuple(d.model_dump().items()) for d in catalog.decisions("cone_detector")],
    }


def test_recording_a_published_batch_again_changes_nothing(catalog):
    first = catalog.record_label_batch("b1", **BATCH)
    before = _rows(catalog)
    again = catalog.record_label_batch("b1", **BATCH)
    assert again.model_dump() == first.model_dump()
    assert _rows(catalog) == before


def test_a_label_sets_rerun_that_publishes_again_keeps_the_first_publication(catalog):
    catalog.record_request("req-0123456789ab", frames=12, slices={"rain": 12})
    batch = {**BATCH, "request_id": "req-0123456789ab"}
    catalog.record_label_batch("b1", **batch)
    catalog.mark_request_answered("req-0123456789ab", "b1")
    before = _rows(catalog)
    # The re-run merges again (a new merge commit on main) and records what it did.
    again = catalog.record_label_batch("b1", **{**batch, "published_commit": "3" * 64})
    catalog.mark_request_answered("req-0123456789ab", "b1")
    catalog.record_request("req-0123456789ab", frames=12, slices={"rain": 12})
    assert again.published_commit == "2" * 64
    assert _rows(catalog) == before


def test_a_rejected_batch_rerun_keeps_its_first_reason(catalog):
    rejected = {**BATCH, "published_commit": None, "status": "rejected"}
    catalog.record_label_batch("b1", **rejected, reason="checks failed; see run/label_sets-1")
    before = _rows(catalog)
    again = catalog.record_label_batch(
        "b1", **rejected, reason="checks failed; see run/label_sets-2"
    )
    assert again.reason == "checks failed; see run/label_sets-1"
    assert _rows(catalog) == before


def test_fixed_files_of_a_rejected_batch_replace_its_record_and_keep_the_rejection(catalog):
    rejected = {**BATCH, "published_commit": None, "status": "rejected"}
    first = catalog.record_label_batch("b1", **rejected, reason="boxes outside the image")
    fixed = {**BATCH, "landing_commit": "4" * 64}
    published = catalog.record_label_batch("b1", **fixed)
    assert (published.status, published.landing_commit) == ("published", "4" * 64)
    assert [b.batch_id for b in catalog.label_batches()] == ["b1"]
    (kept,) = catalog.rejected_label_batches("b1")
    assert (kept.landing_commit, kept.reason) == ("1" * 64, "boxes outside the image")
    assert kept.recorded_at == first.recorded_at
    before = _rows(catalog), catalog.rejected_label_batches()
    again = catalog.record_label_batch("b1", **{**fixed, "published_commit": "5" * 64})
    assert again.published_commit == "2" * 64  # a re-run of the fixed batch changes nothing
    assert (_rows(catalog), catalog.rejected_label_batches()) == before
    with pytest.raises(RecordConflictError, match="landing_commit"):  # published: immutable
        catalog.record_label_batch("b1", **{**BATCH, "landing_commit": "6" * 64})


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"landing_commit": "9" * 64}, "landing_commit '1111111111"),
        ({"boxes": 30}, "boxes 31 (given 30)"),
        ({"source": "coco"}, "source 'label-studio' (given 'coco')"),
        ({"request_id": "req-0123456789ab"}, "request_id None (given 'req-0123456789ab')"),
        ({"status": "rejected", "published_commit": None, "reason": "bad"}, "status"),
    ],
)
def test_other_content_under_a_batch_id_is_a_conflict_that_says_what_differs(
    catalog, change, named
):
    catalog.record_label_batch("b1", **BATCH)
    before = _rows(catalog)
    with pytest.raises(RecordConflictError, match="label batch 'b1' is already recorded") as err:
        catalog.record_label_batch("b1", **{**BATCH, **change})
    assert named in str(err.value) and "use a new id" in str(err.value)
    assert _rows(catalog) == before


def test_recording_a_request_again_after_it_was_answered_changes_nothing(catalog):
    catalog.record_request("req-0123456789ab", frames=4, slices={"rain": 3, "green_cones": 1})
    catalog.mark_request_answered("req-0123456789ab", "b1")
    before = _rows(catalog)
    again = catalog.record_request(
        "req-0123456789ab", frames=4, slices={"green_cones": 1, "rain": 3}
    )
    assert (again.status, again.batch_id) == ("answered", "b1")
    assert _rows(catalog) == before
    differs = r"slices \{'rain': 3, 'green_cones': 1\} \(given \{'rain': 4\}\)"
    with pytest.raises(RecordConflictError, match=differs):
        catalog.record_request("req-0123456789ab", frames=4, slices={"rain": 4})


@pytest.mark.parametrize("verdict", ["promoted", "refused"])
def test_registering_a_decided_version_again_changes_nothing(catalog, cone, verdict):
    cone("v1")
    if verdict == "promoted":
        catalog.set_alias("cone_detector", PRODUCTION, "v1")
    else:
        catalog.record_decision(
            "cone_detector",
            "v1",
            against_version=None,
            approved=False,
            rules=[{"rule": "targeted_slices_improved", "passed": False, "detail": "+0.000"}],
            report_path="reports/v1.md",
            merge_commit=None,
        )
    before = _rows(catalog)
    again = cone("v1")  # weekly_cycle's second run: same version, same commit
    assert again.status == ("production" if verdict == "promoted" else "refused")
    assert _rows(catalog) == before


def test_registering_a_promoted_version_with_another_commit_is_a_conflict(catalog, cone):
    cone("v1")
    catalog.set_alias("cone_detector", PRODUCTION, "v1")
    before = _rows(catalog)
    with pytest.raises(RecordConflictError) as err:
        cone("v1", commit="f" * 64)
    message = str(err.value)
    assert "version 'v1' is already production" in message
    assert f"commit '{'0' * 30}" in message and "(given 'ffffffff" in message
    assert "register a new version" in message
    assert _rows(catalog) == before


def test_the_same_decision_twice_changes_nothing(catalog, cone):
    cone("v1")
    decision = {
        "against_version": None,
        "approved": True,
        "rules": [{"rule": "targeted_slices_improved", "passed": True, "detail": "+0.2"}],
        "report_path": "reports/v1.md",
        "merge_commit": "m" * 64,
    }
    catalog.record_decision("cone_detector", "v1", **decision)
    before = _rows(catalog)
    catalog.record_decision("cone_detector", "v1", **decision)
    assert _rows(catalog) == before
