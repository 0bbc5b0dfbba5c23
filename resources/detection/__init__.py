"""The model side of the data engine: a detector interface any team can implement, the
shipped ConeNet, checkpoints, and helpers between the shared tables and image arrays."""

from resources.detection.detector import ConeNetDetector
from resources.detection.interface import (
    REGISTRY,
    Detections,
    Detector,
    load_checkpoint,
    make_detector,
    register,
    save_checkpoint,
)
from resources.detection.tables import decode_images, predictions_table, targets_from_boxes
from resources.detection.train import TrainConfig

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
