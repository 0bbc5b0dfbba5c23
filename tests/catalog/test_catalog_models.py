"""Model registry: idempotent registration, lookups, aliases and their history."""

from __future__ import annotations

import pytest

from resources.catalog import (
    InvalidRecordError,
    ModelStatus,
    RecordConflictError,
    UnknownModelError,
)


def test_register_returns_a_candidate_with_every_field(catalog, cone):
    model = cone("1", metrics={"ap50": {"rain": 0.25}})
    assert model.status == ModelStatus.CANDIDATE
    assert (model.name, model.version, model.branch) == ("cone_detector", "1", "run/train-1")
    assert model.training_set_commit == "a" * 64
    assert model.metrics == {"ap50": {"rain": 0.25}}
    assert model.card_path == "models/cone_detector/1/card.md"
    assert model.created_at.tzinfo is not None
    assert catalog.get_model("cone_detector", "1") == model


def test_registering_twice_keeps_one_row(catalog, cone):
    first, again = cone("1"), cone("1")
    assert again.id == first.id
    assert again.created_at == first.created_at
    assert [m.version for m in catalog.models("cone_detector")] == ["1"]


def test_registering_a_candidate_again_with_new_commits_updates_it(catalog, cone):
    cone("1")
    updated = cone("1", commit="b" * 64, metrics={"ap50": {"all": 0.7}})
    assert (updated.commit, updated.metrics) == ("b" * 64, {"ap50": {"all": 0.7}})
    assert len(catalog.models("cone_detector")) == 1


def test_a_promoted_version_is_frozen(catalog, cone):
    cone("1")
    catalog.set_alias("cone_detector", "production", "1")
    cone("1")  # the same registration again is still fine
    with pytest.raises(RecordConflictError, match="already production.*commit differ"):
        cone("1", commit="c" * 64)


def test_models_and_latest(catalog, cone):
    for version in ("1", "2", "3"):
        cone(version)
    catalog.set_alias("cone_detector", "production", "2")
    assert [m.version for m in catalog.models("cone_detector")] == ["1", "2", "3"]
    assert catalog.latest_model("cone_detector").version == "3"
    assert catalog.latest_model("cone_detector", status="production").version == "2"
    assert catalog.latest_model("cone_detector", status="retired") is None
    assert catalog.latest_model("lane_detector") is None
    assert catalog.models("lane_detector") == []


def test_production_alias_moves_status_and_keeps_history(catalog, cone):
    cone("1"), cone("2")
    assert catalog.alias("cone_detector", "production") is None
    catalog.set_alias("cone_detector", "production", "1")
    moved = catalog.set_alias("cone_detector", "production", "2")
    assert moved.version == "2" and moved.status == ModelStatus.PRODUCTION
    assert catalog.alias("cone_detector", "production").version == "2"
    statuses = {m.version: m.status for m in catalog.models("cone_detector")}
    assert statuses == {"1": ModelStatus.RETIRED, "2": ModelStatus.PRODUCTION}
    history = catalog.alias_history("cone_detector")
    assert [(h.previous_version, h.version) for h in history] == [(None, "1"), ("1", "2")]


def test_setting_an_alias_to_its_holder_is_a_no_op(catalog, cone):
    cone("1")
    catalog.set_alias("cone_detector", "production", "1")
    catalog.set_alias("cone_detector", "production", "1")
    assert len(catalog.alias_history("cone_detector")) == 1


def test_rolling_production_back_to_a_retired_version(catalog, cone):
    cone("1"), cone("2")
    catalog.set_alias("cone_detector", "production", "1")
    catalog.set_alias("cone_detector", "production", "2")
    catalog.set_alias("cone_detector", "production", "1")
    statuses = {m.version: m.status for m in catalog.models("cone_detector")}
    assert statuses == {"1": ModelStatus.PRODUCTION, "2": ModelStatus.RETIRED}
    assert len(catalog.alias_history("cone_detector")) == 3


def test_other_aliases_leave_statuses_alone(catalog, cone):
    cone("1"), cone("2")
    catalog.set_alias("cone_detector", "staging", "1")
    catalog.set_alias("cone_detector", "staging", "2")
    assert {m.status for m in catalog.models("cone_detector")} == {ModelStatus.CANDIDATE}
    assert catalog.alias("cone_detector", "staging").version == "2"
    assert len(catalog.alias_history("cone_detector", "staging")) == 2
    assert catalog.alias_history("cone_detector") == []


def test_aliases_are_per_model(catalog, cone):
    cone("1")
    catalog.register_model(
        "lane_detector", "1", branch="b", commit="c", training_set_commit="t",
        metrics={}, card_path="card.md",
    )  # fmt: skip
    catalog.set_alias("lane_detector", "production", "1")
    assert catalog.alias("cone_detector", "production") is None
    assert catalog.get_model("cone_detector", "1").status == ModelStatus.CANDIDATE


def test_unknown_versions_are_named(catalog, cone):
    with pytest.raises(UnknownModelError, match="no model named 'cone_detector'"):
        catalog.get_model("cone_detector", "1")
    cone("1"), cone("2")
    with pytest.raises(UnknownModelError, match=r"no version '9' \(registered: '1', '2'\)"):
        catalog.set_alias("cone_detector", "production", "9")
    with pytest.raises(UnknownModelError):
        catalog.get_model("cone_detector", "9")
    assert catalog.alias_history("cone_detector") == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("version", "", "version must be a non-empty string"),
        ("commit", None, "commit must be a non-empty string"),
        ("metrics", {"ap": {0.5, 0.6}}, "metrics must be plain JSON data"),
        ("metrics", [0.5], "metrics must be a dict"),
    ],
)
def test_bad_registrations_are_refused(catalog, cone, field, value, message):
    args = {"version": "1"} | {field: value}
    with pytest.raises(InvalidRecordError, match=message):
        cone(args.pop("version"), **args)
    assert catalog.models("cone_detector") == []


def test_undefined_metrics_are_stored_as_null(catalog, cone):
    model = cone("1", metrics={"ap50": {"all": 0.5, "empty_slice": float("nan")}, "x": [1e999]})
    assert model.metrics == {"ap50": {"all": 0.5, "empty_slice": None}, "x": [None]}
    assert catalog.get_model("cone_detector", "1").metrics == model.metrics


def test_bad_status_filter(catalog):
    with pytest.raises(InvalidRecordError, match="status must be one of candidate, production"):
        catalog.latest_model("cone_detector", status="shipped")
