"""Markdown views of a Validation, for asset-check metadata and promotion reports."""

from __future__ import annotations

from typing import Any

from quality.gx_runner import ExpectationOutcome, Validation

_CELL_CHARS = 120


def validation_markdown(validation: Validation) -> str:
    """A heading with the verdict and a table of every expectation, failures first."""
    stats = validation.statistics
    verdict = "passed" if validation.success else "FAILED"
    heading = (
        f"### Suite `{validation.suite}` {verdict}: "
        f"{stats.get('successful_expectations', 0)}/{stats.get('evaluated_expectations', 0)}"
        " expectations met"
    )
    ordered = sorted(validation.results, key=lambda r: r.success)
    return f"{heading}\n\n{outcomes_table(ordered)}"


def failed_expectations_markdown(validation: Validation) -> str:
    if validation.success:
        return f"All {len(validation.results)} expectations of `{validation.suite}` met."
    return outcomes_table(validation.failures)


def outcomes_table(outcomes: list[ExpectationOutcome]) -> str:
    rows = [
        "| | expectation | column | unexpected | observed | samples / error |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        cells = [
            "✅" if o.success else "❌",
            f"`{o.type}`{_bounds(o.kwargs)}",
            o.column or "",
            "" if o.unexpected_count is None else str(o.unexpected_count),
            "" if o.observed_value is None else _cell(o.observed_value),
            _cell(o.error or (o.partial_unexpected or "")),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def unexpected_samples(validation: Validation) -> dict[str, Any]:
    """Offending values (≤10 each) or the error, per failed expectation, keyed readably."""
    return {
        f"{o.type}({o.column or ''})": o.error or o.partial_unexpected for o in validation.failures
    }


def _bounds(kwargs: dict[str, Any]) -> str:
    shown = {k: kwargs[k] for k in ("min_value", "max_value", "value_set") if k in kwargs}
    shown = {k: v for k, v in shown.items() if v is not None}
    return " " + _cell(shown) if shown else ""


def _cell(value: Any) -> str:
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"
