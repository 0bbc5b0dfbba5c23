"""The repository layout (DESIGN §3): every store path fleetloop reads or writes, in one place."""

from __future__ import annotations

DRIVE_PREFIX = "raw/drives/"
# Per-drive tables (one file per drive partition), read across partitions by prefix.
FRAMES_PREFIX = "frames/drives/"
PREDICTIONS_PREFIX = "predictions/fleet/detections/"
EMBEDDINGS_PREFIX = "predictions/fleet/embeddings/"
CHALLENGER_PREFIX = "predictions/fleet/challenger/"
SIGNALS_PREFIX = "predictions/fleet/signals/"
REQUESTS_PREFIX = "labeling/requests/"
LABELS_PREFIX = "labels/"
TRAINING_SET_PREFIX = "datasets/training_set/"
MANIFEST_PATH = f"{TRAINING_SET_PREFIX}manifest.parquet"
TRAINING_LABELS_PATH = f"{TRAINING_SET_PREFIX}labels.parquet"


def drive_path(drive_id: str) -> str:
    return f"{DRIVE_PREFIX}{drive_id}.parquet"


def frames_path(drive_id: str) -> str:
    return f"{FRAMES_PREFIX}{drive_id}.parquet"


def predictions_path(drive_id: str) -> str:
    return f"{PREDICTIONS_PREFIX}{drive_id}.parquet"


def embeddings_path(drive_id: str) -> str:
    return f"{EMBEDDINGS_PREFIX}{drive_id}.parquet"


def challenger_predictions_path(drive_id: str) -> str:
    return f"{CHALLENGER_PREFIX}{drive_id}.parquet"


def signals_path(drive_id: str) -> str:
    return f"{SIGNALS_PREFIX}{drive_id}.parquet"


def slice_path(name: str) -> str:
    return f"slices/{name}.parquet"


def request_path(request_id: str) -> str:
    return f"{REQUESTS_PREFIX}{request_id}.parquet"


def request_info_path(request_id: str) -> str:
    """The request's sidecar: which production model served, how many frames per slice."""
    return f"{REQUESTS_PREFIX}{request_id}.json"


def label_paths(batch_id: str) -> dict[str, str]:
    base = f"{LABELS_PREFIX}{batch_id}/"
    return {
        "frames": f"{base}frames.parquet",
        "boxes": f"{base}boxes.parquet",
        "batch": f"{base}batch.json",
    }


def model_dir(name: str, version: str) -> str:
    return f"models/{name}/{version}"


def checkpoint_path(name: str, version: str) -> str:
    return f"{model_dir(name, version)}/model.pt"


def challenger_path(name: str, version: str) -> str:
    """The challenger trained with the model on its frames, for disagreement mining."""
    return f"{model_dir(name, version)}/challenger.pt"


def report_dir(name: str, version: str) -> str:
    return f"reports/evaluation/{name}/{version}"


def docs_prefix(asset: str, key: str = "") -> str:
    return f"quality/{asset}/{key}".rstrip("/")
