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
    """Frames ranked by a registered signal (`assets/mining/registry.py`) of the deployed
    model: computed from its fleet predictions ("green_cone_score", "uncertainty") or read
    from `fleet_signals` ("low_confidence", "disagreement", "flicker")."""

    signal: str
    kind: str = "model_signal"


@dataclass(frozen=True)
class LabelReview:
    """Labeled training frames whose labels the production model contradicts most
    (confident-learning style): sent back to the labelers for a second look."""

    kind: str = "label_review"


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


Selection = RandomSample | MetadataQuery | ModelSignal | Similarity | ReviewFlags | LabelReview


@dataclass(frozen=True)
class SliceSpec:
    name: str
    description: str
    selection: Selection
    target_size: int
    # "bootstrap" (before any model), "eval" (held out), "curated" (declared for a known
    # gap), "signal" (mined from what the production model gets wrong), "review" (labeled
    # frames asked again: their labels look wrong)
    role: str = "curated"
    weight: float = 1.0  # how much a training frame of this slice counts in the loss
    eval_slice: str = ""  # the evaluation slice that shows whether labeling this one helped
    # "total": fill the slice to target_size once; "per_model": up to target_size new frames
    # for every production model (a signal that mines what the current model gets wrong).
    budget: str = "total"
    tags: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def signal(self) -> str:
        """The registered signal the selection ranks by ("" for none)."""
        s = self.selection
        if isinstance(s, ModelSignal):
            return s.signal
        if isinstance(s, LabelReview):
            return "label_error"
        return getattr(s, "rank_by", "")

    def signal_source(self) -> str:
        from assets.mining.registry import check_signal

        return check_signal(self.signal, user=f"slice {self.name!r}").source if self.signal else ""

    @property
    def needs_model(self) -> bool:
        """Whether choosing the frames needs the deployed model (its predictions, signals or
        embeddings): such a slice is cut again for every deployed model."""
        return bool(self.signal) or isinstance(self.selection, Similarity)

    @property
    def needs_predictions(self) -> bool:
        """Whether choosing the frames reads the fleet predictions themselves."""
        return self.signal_source() == "predictions"

    @property
    def needs_flags(self) -> bool:
        s = self.selection
        return isinstance(s, ReviewFlags) or (isinstance(s, Similarity) and s.from_flags)

    @property
    def needs_signals(self) -> bool:
        """Whether choosing the frames reads `fleet_signals`."""
        return self.signal_source() == "fleet"

    def validate(self) -> None:
        """Fail now, naming the slice, on a declaration that cannot run."""
        if self.signal:
            self.signal_source()
        if self.role not in ROLE_PRIORITY:
            roles = ", ".join(ROLE_PRIORITY)
            raise ValueError(f"slice {self.name!r}: unknown role {self.role!r}; one of {roles}")
        if not self.weight > 0:
            raise ValueError(f"slice {self.name!r}: weight must be positive, not {self.weight}")
        if self.budget not in ("total", "per_model"):
            raise ValueError(f"slice {self.name!r}: budget is 'total' or 'per_model'")

    @property
    def asset_name(self) -> str:
        return f"{self.name}_slice"

    @property
    def code_version(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def signal_slice(name: str, description: str, selection: Selection) -> SliceSpec:
    """A slice the failure-finding signals fill: up to 40 new frames per production model,
    judged by the whole evaluation set."""
    return SliceSpec(
        name,
        description,
        selection,
        target_size=40,
        role="signal",
        eval_slice="all",
        budget="per_model",
    )


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
    # Signal slices: mined afresh from every production model (no condition named by hand);
    # each gets up to its target of new frames per model.
    signal_slice(
        "uncertain",
        "Frames whose detections sit in the production model's uncertain band.",
        ModelSignal(signal="low_confidence"),
    ),
    signal_slice(
        "disagreement",
        "Frames where the production model and a differently trained challenger disagree.",
        ModelSignal(signal="disagreement"),
    ),
    signal_slice(
        "flicker",
        "Frames where a detection appears or vanishes for one frame of its drive.",
        ModelSignal(signal="flicker"),
    ),
    signal_slice(
        "flagged",
        "Frames an operator flagged as wrongly predicted (fleetloop flag, the review page).",
        ReviewFlags(),
    ),
    signal_slice(
        "like_flagged",
        "More like the flagged frames: nearest unlabeled frames in the model's embedding space.",
        Similarity(from_flags=True),
    ),
    SliceSpec(
        "label_review",
        "Training frames whose labels the production model contradicts most: asked again.",
        LabelReview(),
        target_size=30,
        role="review",
        budget="per_model",
    ),
)


ROLE_PRIORITY = {
    "eval": 0,
    "bootstrap": 1,
    "curated": 2,
    "signal": 3,
    "review": 4,
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
