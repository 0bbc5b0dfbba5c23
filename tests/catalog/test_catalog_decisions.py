"""Promotion decisions: approvals move production, refusals say which rule failed."""

from __future__ import annotations

import pytest

from resources.catalog import (
    InvalidRecordError,
    ModelStatus,
    RecordConflictError,
    UnknownModelError,
)

PASSED = [
    {"rule": "blocking checks passed", "passed": True, "detail": "12/12"},
    {"rule": "rain improved", "passed": True, "detail": "ap50 0.21 -> 0.48", "slice": "rain"},
]
REGRESSED = {"rule": "no slice regressed", "passed": False, "detail": "night -0.09 > 0.02"}


def decide(catalog, version, *, approved=True, rules=None, against="1", merge="m" * 64):
    return catalog.record_decision(
        "cone_detector",
        version,
        against_version=against,
        approved=approved,
        rules=rules if rules is not None else PASSED,
        report_path=f"reports/cone_detector/{version}/report.md",
        merge_commit=merge if approved else None,
    )


@pytest.fixture
def in_production(catalog, cone):
    """Version 1 serves; version 2 is a candidate."""
    cone("1"), cone("2")
    catalog.set_alias("cone_detector", "production", "1")


def test_approval_promotes_the_candidate(catalog, in_production):
    decision = decide(catalog, "2")
    assert decision.approved and decision.failed_rules == []
    assert decision.rules[1]["slice"] == "rain"
    assert (decision.against_version, decision.merge_commit) == ("1", "m" * 64)
    assert catalog.alias("cone_detector", "production").version == "2"
    statuses = {m.version: m.status for m in catalog.models("cone_detector")}
    assert statuses == {"1": ModelStatus.RETIRED, "2": ModelStatus.PRODUCTION}
    assert [h.version for h in catalog.alias_history("cone_detector")] == ["1", "2"]


def test_first_model_has_nothing_to_beat(catalog, cone):
    cone("1")
    decision = decide(catalog, "1", against=None)
    assert decision.against_version is None
    assert catalog.alias("cone_detector", "production").version == "1"


def test_refusal_marks_the_candidate_and_names_the_failed_rule(catalog, in_production):
    decision = decide(catalog, "2", approved=False, rules=[*PASSED, REGRESSED])
    assert not decision.approved and decision.merge_commit is None
    assert decision.failed_rules == [REGRESSED]
    assert catalog.get_model("cone_detector", "2").status == ModelStatus.REFUSED
    assert catalog.alias("cone_detector", "production").version == "1"
    assert catalog.get_model("cone_detector", "1").status == ModelStatus.PRODUCTION


def test_recording_twice_keeps_one_decision(catalog, in_production):
    first, again = decide(catalog, "2"), decide(catalog, "2")
    assert again.id == first.id and again.decided_at == first.decided_at
    assert len(catalog.decisions("cone_detector")) == 1
    assert len(catalog.alias_history("cone_detector")) == 2


def test_a_rerun_gate_updates_its_decision(catalog, in_production):
    decide(catalog, "2", approved=False, rules=[REGRESSED])
    decision = decide(catalog, "2", rules=PASSED)
    assert decision.approved
    assert [d.approved for d in catalog.decisions("cone_detector")] == [True]
    assert catalog.get_model("cone_detector", "2").status == ModelStatus.PRODUCTION


def test_refusing_the_production_version_is_a_conflict(catalog, in_production):
    with pytest.raises(RecordConflictError, match="move the production alias"):
        decide(catalog, "1", approved=False, rules=[REGRESSED], against=None)
    assert catalog.get_model("cone_detector", "1").status == ModelStatus.PRODUCTION
    assert catalog.decisions("cone_detector") == []


def test_decisions_list_is_per_model_oldest_first(catalog, in_production, cone):
    cone("3")
    decide(catalog, "2", approved=False, rules=[REGRESSED])
    decide(catalog, "3")
    assert [d.candidate_version for d in catalog.decisions("cone_detector")] == ["2", "3"]
    assert catalog.decisions("lane_detector") == []


def test_unknown_versions(catalog, in_production):
    with pytest.raises(UnknownModelError, match="no version '7'"):
        decide(catalog, "7")
    with pytest.raises(UnknownModelError, match="no version '0'"):
        decide(catalog, "2", against="0")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([], "non-empty list"),
        ([{"rule": "x", "passed": True}], r"rules\[0\] must be a dict with keys"),
        ([{"rule": "x", "passed": "yes", "detail": ""}], "must be True or False"),
        ([{"rule": "", "passed": True, "detail": ""}], "must be a non-empty string"),
    ],
)
def test_malformed_rules_are_refused(catalog, in_production, rules, message):
    with pytest.raises(InvalidRecordError, match=message):
        decide(catalog, "2", rules=rules)
    assert catalog.get_model("cone_detector", "2").status == ModelStatus.CANDIDATE
