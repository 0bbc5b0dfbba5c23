"""The promotion gate's three rules, each failing on its own with a reason."""

from __future__ import annotations

from assets.promotion.gate import GatePolicy, decide, targeted_slices


def report(rows, production=True):
    slices = []
    for name, before, after in rows:
        slices.append(
            {
                "slice": name,
                "candidate": {"ap": after, "precision": 0.0, "recall": 0.0},
                "production": {"ap": before, "precision": 0.0, "recall": 0.0}
                if production
                else None,
                "delta_ap": after - before if production else None,
            }
        )
    return {"production": {"version": "p"} if production else None, "slices": slices}


OK = {"training_set_valid @ abc": True}


def test_first_model_needs_only_passing_checks():
    decision = decide(report([("all", 0, 0.4)], production=False), OK, [])
    assert decision.approved
    refused = decide(
        report([("all", 0, 0.4)], production=False), {"training_set_valid @ abc": False}, []
    )
    assert not refused.approved
    assert [r.rule for r in refused.failed] == ["data_checks_passed"]
    assert "training_set_valid @ abc" in refused.summary()


def test_regression_beyond_tolerance_is_refused_and_named():
    rows = [("all", 0.60, 0.62), ("night", 0.50, 0.47), ("rain", 0.30, 0.50)]
    decision = decide(report(rows), OK, ["rain"], GatePolicy(tolerance=0.02))
    assert [r.rule for r in decision.failed] == ["no_slice_regressed"]
    assert "night 0.500 → 0.470" in decision.summary()
    assert decide(report(rows), OK, ["rain"], GatePolicy(tolerance=0.05)).approved


def test_targeted_slices_must_improve():
    rows = [("all", 0.6, 0.6), ("green_cones", 0.2, 0.205), ("rain", 0.3, 0.5)]
    decision = decide(report(rows), OK, ["green_cones", "rain"])
    assert [r.rule for r in decision.failed] == ["targeted_slices_improved"]
    assert "green_cones +0.005" in decision.summary()
    assert not decide(report(rows), OK, ["fog"]).approved  # a target nobody measures


def test_targets_are_the_curated_slices_that_grew():
    eval_of = {"rain": "rain", "green_cones": "green_cones", "baseline": ""}
    assert targeted_slices({"rain": 10, "baseline": 5}, None, eval_of) == []
    assert targeted_slices(
        {"rain": 10, "green_cones": 4, "baseline": 9}, {"rain": 10, "baseline": 5}, eval_of
    ) == ["green_cones"]
