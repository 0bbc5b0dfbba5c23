"""The promotion gate (DESIGN §5) as plain rules over an evaluation report.

A candidate is promoted only if (1) every blocking check on the data it was trained on
passed, (2) no evaluation slice lost more than `tolerance` AP against production and (3) every
slice it was curated to fix improved by at least `min_gain`. Each rule reports why, so a
refusal names exactly what failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class GatePolicy:
    tolerance: float = 0.02  # AP a slice may lose before the candidate is refused
    min_gain: float = 0.01  # AP a targeted slice must gain


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    rules: tuple[RuleOutcome, ...]

    @property
    def approved(self) -> bool:
        return all(rule.passed for rule in self.rules)

    @property
    def failed(self) -> list[RuleOutcome]:
        return [rule for rule in self.rules if not rule.passed]

    def summary(self) -> str:
        if self.approved:
            return "promoted: " + "; ".join(rule.detail for rule in self.rules)
        return "refused: " + "; ".join(f"{r.rule}: {r.detail}" for r in self.failed)


def targeted_slices(
    candidate_counts: Mapping[str, int],
    production_counts: Mapping[str, int] | None,
    eval_slice_of: Mapping[str, str],
) -> list[str]:
    """Evaluation slices of the curated slices that gained training frames since production."""
    if production_counts is None:
        return []
    grown = [s for s, n in candidate_counts.items() if n > production_counts.get(s, 0)]
    return sorted({eval_slice_of[s] for s in grown if eval_slice_of.get(s)})


def decide(
    report: Mapping[str, Any],
    data_checks: Mapping[str, bool],
    targeted: Sequence[str],
    policy: GatePolicy = GatePolicy(),
) -> Decision:
    """Apply the three rules; `data_checks` maps a check (e.g. `training_set_valid @ <commit>`)
    to whether it passed."""
    failed_checks = sorted(name for name, ok in data_checks.items() if not ok)
    rules = [
        RuleOutcome(
            "data_checks_passed",
            not failed_checks and bool(data_checks),
            f"failed: {', '.join(failed_checks)}"
            if failed_checks
            else (
                f"all {len(data_checks)} blocking checks on the training data passed"
                if data_checks
                else "no check result found for the training data"
            ),
        )
    ]
    slices = {s["slice"]: s for s in report["slices"]}
    if report.get("production") is None:
        rules.append(RuleOutcome("no_slice_regressed", True, "no production model to compare with"))
        rules.append(RuleOutcome("targeted_slices_improved", True, "first model: nothing targeted"))
        return Decision(tuple(rules))

    regressed = [
        f"{name} {s['production']['ap']:.3f} → {s['candidate']['ap']:.3f}"
        for name, s in slices.items()
        if s["delta_ap"] is not None and s["delta_ap"] < -policy.tolerance
    ]
    rules.append(
        RuleOutcome(
            "no_slice_regressed",
            not regressed,
            f"AP fell by more than {policy.tolerance} on: {', '.join(regressed)}"
            if regressed
            else f"no slice lost more than {policy.tolerance} AP",
        )
    )
    missing = [name for name in targeted if name not in slices]
    short = [
        f"{name} {slices[name]['delta_ap']:+.3f}"
        for name in targeted
        if name in slices and (slices[name]["delta_ap"] or 0.0) < policy.min_gain
    ]
    gains = ", ".join(f"{n} {slices[n]['delta_ap']:+.3f}" for n in targeted if n in slices)
    problems = []
    if missing:
        problems.append(f"no evaluation slice named {', '.join(missing)}")
    if short:
        problems.append(f"gained less than {policy.min_gain} AP: {', '.join(short)}")
    if problems:
        detail = "; ".join(problems) + (f" (targets: {gains})" if gains else "")
    else:
        detail = f"targeted slices improved: {gains}" if targeted else "no slice was targeted"
    rules.append(RuleOutcome("targeted_slices_improved", not problems, detail))
    return Decision(tuple(rules))
