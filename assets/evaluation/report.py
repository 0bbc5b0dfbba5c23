"""The evaluation report: per-slice metrics of a candidate against production, as JSON (what
the promotion gate reads), markdown (Dagster metadata), HTML and a PNG chart (the store)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import polars as pl

from assets.markdown import table_md as render

METRICS = ("precision", "recall", "ap")


def build_report(
    candidate: dict[str, str],
    production: dict[str, str] | None,
    candidate_slices: pl.DataFrame,
    production_slices: pl.DataFrame | None,
    confusion: dict[str, pl.DataFrame],
    eval_frames: int,
) -> dict[str, Any]:
    """`*_slices` are per-slice metric tables (slice, precision, recall, ap, frames, boxes)."""
    by_slice = {
        row["slice"]: row
        for row in (production_slices.to_dicts() if production_slices is not None else [])
    }
    slices = []
    for row in candidate_slices.to_dicts():
        before = by_slice.get(row["slice"])
        slices.append(
            {
                "slice": row["slice"],
                "frames": int(row["frames"]),
                "boxes": int(row["boxes"]),
                "candidate": {m: _num(row[m]) for m in METRICS},
                "production": {m: _num(before[m]) for m in METRICS} if before else None,
                "delta_ap": _num(row["ap"] - before["ap"]) if before else None,
            }
        )
    return {
        "candidate": candidate,
        "production": production,
        "eval_frames": eval_frames,
        "slices": slices,
        "confusion": {who: table.to_dicts() for who, table in confusion.items()},
    }


def _num(value: Any) -> float:
    return round(float(value), 4)


def slices_table(report: dict[str, Any]) -> pl.DataFrame:
    rows = []
    for s in report["slices"]:
        before = s["production"] or {}
        rows.append(
            {
                "slice": s["slice"],
                "frames": s["frames"],
                "boxes": s["boxes"],
                "ap_production": before.get("ap"),
                "ap_candidate": s["candidate"]["ap"],
                "delta_ap": s["delta_ap"],
                "precision": s["candidate"]["precision"],
                "recall": s["candidate"]["recall"],
            }
        )
    return pl.DataFrame(rows)


def chart_png(report: dict[str, Any]) -> bytes:
    """Grouped bars of AP per slice: production (if any) beside the candidate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s["slice"] for s in report["slices"]]
    cand = [s["candidate"]["ap"] for s in report["slices"]]
    prod = [(s["production"] or {}).get("ap", 0.0) for s in report["slices"]]
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    xs = range(len(names))
    width = 0.38
    if report["production"]:
        ax.bar(
            [x - width / 2 for x in xs],
            prod,
            width,
            label=f"production {report['production']['version']}",
            color="#9aa5b1",
        )
    ax.bar(
        [x + width / 2 for x in xs] if report["production"] else list(xs),
        cand,
        width,
        label=f"candidate {report['candidate']['version']}",
        color="#e8710a",
    )
    ax.set_xticks(list(xs), names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("AP @ IoU 0.5")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def markdown(report: dict[str, Any], chart: bytes | None = None) -> str:
    who = report["candidate"]
    against = report["production"]
    head = f"### Candidate `{who['version']}` " + (
        f"against production `{against['version']}`" if against else "(no production model yet)"
    )
    parts = [head, f"{report['eval_frames']} held-out frames.", render(slices_table(report))]
    if chart is not None:
        parts.append(f"![AP per slice](data:image/png;base64,{base64.b64encode(chart).decode()})")
    for name, rows in report["confusion"].items():
        parts.append(f"Confusion ({name}):\n\n" + render(pl.DataFrame(rows)))
    return "\n\n".join(parts)


_STYLE = (
    "body{font-family:sans-serif;margin:2em} td,th{padding:4px 10px;border-bottom:1px solid #ddd}"
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return html.escape(f"{value:.3f}" if isinstance(value, float) else str(value))


def html_page(report: dict[str, Any], chart: bytes) -> str:
    table = slices_table(report)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in table.rows()
    )
    image = base64.b64encode(chart).decode()
    title = html.escape(f"Evaluation of {report['candidate']['version']}")
    production = html.escape(str((report["production"] or {}).get("version", "none")))
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
        f"<p>{report['eval_frames']} held-out frames; production: {production}</p>"
        f"<table><tr>{head}</tr>{body}</table>"
        f'<img alt="AP per slice" src="data:image/png;base64,{image}"></body></html>\n'
    )
