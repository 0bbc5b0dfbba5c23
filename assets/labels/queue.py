"""Planning a labeling request: each slice gets its shortfall, no frame is asked for twice.

A slice's target size counts the frames ever requested for it (answered or not), so a slice
that reached its target asks for nothing more, however its candidates are re-ranked by a new
model; raising the target in the declaration asks for the difference. Slices are served by
role (held-out evaluation first, then the bootstrap sample, then curated slices), so a frame
two slices want goes to the evaluation set and is never trained on. A review slice is the
exception: it asks again, once, for frames labeled before (their labels look wrong); the
newest labels of a frame are the ones the training set uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import polars as pl

from assets.slices.declarations import ROLE_PRIORITY, SliceSpec
from resources.tables import LABEL_REQUEST


def request_id_for(frame_ids: Sequence[str]) -> str:
    """A request's id is a hash of its frames: planning twice gives the same request."""
    digest = hashlib.sha256("\n".join(sorted(frame_ids)).encode()).hexdigest()
    return f"req-{digest[:12]}"


def plan_request(
    specs: Sequence[SliceSpec],
    candidates: Mapping[str, pl.DataFrame],
    history: pl.DataFrame,
    *,
    model_of_request: Mapping[str, str] | None = None,
    current_model: str = "",
) -> pl.DataFrame:
    """The new request (`LABEL_REQUEST` rows; empty when every slice has what it asked for).

    `candidates` maps slice name → its ranked candidates (`SLICE` rows); slices missing from
    it (not materialized yet) are skipped. `history` holds every earlier request's rows;
    `model_of_request` says which production model served when each was made, so a
    `per_model` slice counts only what it asked of `current_model`.
    """
    taken = set(history.get_column("frame_id").to_list())
    review_roles = {spec.name for spec in specs if spec.role == "review"}
    # a review slice asks again for labeled frames, once each
    reviewed = set(history.filter(pl.col("slice").is_in(list(review_roles)))["frame_id"].to_list())
    fresh: set[str] = set()
    asked = dict(history.group_by("slice").len().rows()) if history.height else {}
    models = model_of_request or {}
    this_model = history.filter(
        pl.col("request_id").replace_strict(models, default="") == current_model
    )
    asked_now = dict(this_model.group_by("slice").len().rows()) if this_model.height else {}
    rows: list[tuple[str, str, int]] = []
    for spec in sorted(specs, key=lambda s: (ROLE_PRIORITY.get(s.role, 9), s.name)):
        ranked = candidates.get(spec.name)
        counted = asked_now if spec.budget == "per_model" else asked
        need = spec.target_size - counted.get(spec.name, 0)
        if ranked is None or need <= 0:
            continue
        order = ranked.sort("rank").get_column("frame_id").to_list()
        if spec.role == "review":
            blocked = reviewed | fresh
            picks = [f for f in order if f in taken and f not in blocked]
        else:
            picks = [f for f in order if f not in taken]
        for frame in picks[:need]:
            taken.add(frame)
            fresh.add(frame)
            rows.append((frame, spec.name, len(rows)))
    if not rows:
        return pl.DataFrame(schema=LABEL_REQUEST)
    request_id = request_id_for([frame for frame, _, _ in rows])
    return pl.DataFrame(
        {
            "request_id": [request_id] * len(rows),
            "frame_id": [r[0] for r in rows],
            "slice": [r[1] for r in rows],
            "rank": [r[2] for r in rows],
        },
        schema=LABEL_REQUEST,
    )
