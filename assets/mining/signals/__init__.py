"""Failure-finding signals: pure functions from predictions, labels and embeddings to
per-frame scores `(frame_id, score)`, higher = more worth a look. No Dagster here: the mining
assets call these and turn the scores into slices, checks and labeling requests.

- `disagreement`: two differently trained detectors disagree (`train_challenger`);
- `flicker`: detections inconsistent across consecutive frames of a drive;
- `low_confidence`: detections in the uncertain band;
- `label_errors`: labeled boxes a model contradicts (`cross_predictions` for out-of-sample);
- `drift_report` / `drifted` / `drift_map_png`: production vs training embeddings;
- `similar_frames`: "more like these" in embedding space;
- `SimulatedOperator` / `flagged`: human review flags.
"""

from assets.mining.signals.cross_fit import (
    Challenger,
    cross_predictions,
    folds_by_drive,
    train_challenger,
)
from assets.mining.signals.disagreement import disagreement, disagreements
from assets.mining.signals.drift import DriftReport, drift_report, drifted, mmd_test
from assets.mining.signals.drift_map import drift_map_png
from assets.mining.signals.flicker import Camera, FlickerConfig, flicker, flicker_events
from assets.mining.signals.label_errors import (
    ISSUES,
    label_errors,
    label_issues,
    matched_errors,
)
from assets.mining.signals.low_confidence import class_confusion, low_confidence
from assets.mining.signals.operator import FLAGS, SimulatedOperator, flagged, wrong_frames
from assets.mining.signals.scores import (
    SCORES,
    per_frame,
    precision_at_k,
    random_precision,
    ranked,
    top_k,
)
from assets.mining.signals.similarity import similar_frames

__all__ = [
    "FLAGS",
    "ISSUES",
    "SCORES",
    "Camera",
    "Challenger",
    "DriftReport",
    "FlickerConfig",
    "SimulatedOperator",
    "class_confusion",
    "cross_predictions",
    "disagreement",
    "disagreements",
    "drift_map_png",
    "drift_report",
    "drifted",
    "flagged",
    "flicker",
    "flicker_events",
    "folds_by_drive",
    "label_errors",
    "label_issues",
    "low_confidence",
    "matched_errors",
    "mmd_test",
    "per_frame",
    "precision_at_k",
    "random_precision",
    "ranked",
    "similar_frames",
    "top_k",
    "train_challenger",
    "wrong_frames",
]
