"""Slice declarations: what a slice is, stated once, hashed into the asset's code_version.

A slice names a set of fleet frames worth labeling: chosen by a metadata query (weather is
rain), a model signal (the production model's green-cone scores), a random sample (the
bootstrap) or similarity to example frames. Editing a declaration changes its hash, so
declarative automation rematerializes that slice and what depends on it, nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class RandomSample:
    seed: int
    kind: str = "random"


@dataclass(frozen=True)
class MetadataQuery:
    """Frames whose metadata columns take one of the given values (AND across columns), best
    first by a model signal when `rank_by` names one (else in a stable random order)."""

    equals: tuple[tuple[str, tuple[str, ...]], ...]
    rank_by: str = ""
    kind: str = "metadata"


@dataclass(frozen=True)
class ModelSignal:
    """Frames ranked by a signal computed from the production model's fleet predictions."""

    signal: str  # "green_cone_score" | "low_confidence"
    kind: str = "model_signal"


@dataclass(frozen=True)
class Similarity:
    """Nearest unlabeled frames to a few example frames in the model's embedding space; with
    `from_flags`, the examples are the frames operators flagged ("more like these")."""

    examples: tuple[str, ...] = ()
    from_flags: bool = False
    kind: str = "similarity"


@dataclass(frozen=True)
class ReviewFlags:
    """Frames an operator flagged as wrongly predicted (open flags in the catalog)."""

    kind: str = "flags"


Selection = RandomSample | MetadataQuery | ModelSignal | Similarity | ReviewFlags


@dataclass(frozen=True)
class SliceSpec:
    name: str
    description: str
    selection: Selection
    target_size: int
    # "bootstrap" (before any model), "eval" (held out), "curated" (declared for a known
    # gap), "signal" (mined from what the production model gets wrong)
    role: str = "curated"
    eval_slice: str = ""  # the evaluation slice that shows whether labeling this one helped
    # "total": fill the slice to target_size once; "per_model": up to target_size new frames
    # for every production model (a signal that mines what the current model gets wrong).
    budget: str = "total"
    tags: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def needs_model(self) -> bool:
        """Whether choosing the frames needs the production model's fleet predictions."""
        s = self.selection
        return isinstance(s, ModelSignal | Similarity) or bool(getattr(s, "rank_by", ""))

    @property
    def asset_name(self) -> str:
        return f"{self.name}_slice"

    @property
    def code_version(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


SLICES: tuple[SliceSpec, ...] = (
    SliceSpec(
        "baseline",
        "A random sample of the fleet: what a team labels before it knows where the model fails.",
        RandomSample(seed=11),
        target_size=600,
        role="bootstrap",
    ),
    SliceSpec(
        "holdout",
        "A random held-out sample, labeled once and never trained on: the evaluation set.",
        RandomSample(seed=23),
        target_size=2000,
        role="eval",
    ),
    SliceSpec(
        "rain",
        "Rainy frames (rare in San Francisco), most uncertain for the production model first.",
        MetadataQuery(equals=(("weather", ("rain",)),), rank_by="uncertainty"),
        target_size=300,
        eval_slice="rain",
    ),
    SliceSpec(
        "green_cones",
        "Frames where the production model sees something green and cone-shaped, found from "
        "its own green-cone scores (no ground truth needed): real green cones and confusers.",
        ModelSignal(signal="green_cone_score"),
        target_size=300,
        eval_slice="green_cones",
    ),
)


ROLE_PRIORITY = {
    "eval": 0,
    "bootstrap": 1,
    "curated": 2,
    "signal": 3,
}  # who gets a frame two slices want


def slice_by_name(name: str) -> SliceSpec:
    for spec in SLICES:
        if spec.name == name:
            return spec
    raise KeyError(f"no slice named {name!r}; declared: {', '.join(s.name for s in SLICES)}")


def scaled(specs: tuple[SliceSpec, ...], factor: float) -> tuple[SliceSpec, ...]:
    """The same slices with target sizes times `factor` (at least 1 frame each)."""
    return tuple(
        dataclasses.replace(s, target_size=max(1, round(s.target_size * factor))) for s in specs
    )


def declared_slices() -> tuple[SliceSpec, ...]:
    """The slices the code location serves: `SLICES`, with target sizes scaled by
    `FLEETLOOP_SLICE_SCALE` when a smaller fleet (a CI demo) is simulated."""
    factor = float(os.environ.get("FLEETLOOP_SLICE_SCALE", "1") or 1)
    return SLICES if factor == 1 else scaled(SLICES, factor)
