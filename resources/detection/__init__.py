"""The model side of the data engine: a detector interface any team can implement, the
shipped ConeNet, checkpoints, and helpers between the shared tables and image arrays."""

import os

# OpenMP threads that spin while they wait make torch several times slower when the cores are
# shared with other work (measured on 2 busy cores: 70 images/s instead of 290); waiting
# passively costs nothing on idle cores. Effective only if torch is not imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from resources.detection.detector import ConeNetDetector  # noqa: E402
from resources.detection.interface import (  # noqa: E402
    REGISTRY,
    Detections,
    Detector,
    load_checkpoint,
    make_detector,
    register,
    save_checkpoint,
)
from resources.detection.tables import (  # noqa: E402
    decode_images,
    predictions_table,
    targets_from_boxes,
)
from resources.detection.train import TrainConfig  # noqa: E402

__all__ = [
    "REGISTRY",
    "ConeNetDetector",
    "Detections",
    "Detector",
    "TrainConfig",
    "decode_images",
    "load_checkpoint",
    "make_detector",
    "predictions_table",
    "register",
    "save_checkpoint",
    "targets_from_boxes",
]
