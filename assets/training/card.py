"""The model card committed next to every candidate's weights."""

from __future__ import annotations

from collections.abc import Mapping


def model_card(
    name: str,
    version: str,
    architecture: str,
    summary: Mapping[str, float],
    train_frames_per_slice: Mapping[str, int],
    training_set_commit: str,
    challenger: Mapping[str, object] | None = None,
) -> str:
    slices = "\n".join(f"| {s} | {n} |" for s, n in sorted(train_frames_per_slice.items()))
    stats = "\n".join(f"| {k} | {v:.4g} |" for k, v in sorted(summary.items()))
    return f"""# {name} {version}

Architecture: `{architecture}`. Trained on the training set published in store commit
`{training_set_commit}` (train split only; the held-out evaluation frames were never seen).

## Training frames per slice

| slice | frames |
|---|---|
{slices}

## Training

| statistic | value |
|---|---|
{stats}

{_challenger_section(challenger)}## Intended use

Detects orange and green traffic cones in the fleet's camera frames. Evaluated per slice
(rain, night, green cones, …) against the production model before any promotion; see the
evaluation report next to this card.
"""


def _challenger_section(fit: Mapping[str, object] | None) -> str:
    if not fit:
        return ""
    frames = "the same frames"
    if fit.get("bootstrap"):
        frames = f"a bootstrap resample of {frames}"
    return f"""## Challenger

A second detector for disagreement mining, promoted with this one (`challenger.pt` beside the
weights): width {fit.get("width")}, {fit.get("epochs")} epochs, seed {fit.get("seed")}, trained
on {frames} in {float(fit.get("seconds", 0.0)):.1f} s.

"""
