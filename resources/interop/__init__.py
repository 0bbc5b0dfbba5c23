"""Labeling interop: requests out as Label Studio tasks and COCO, labels back in as batches.

A real labeling team replaces the simulated labelers without code changes: the file-drop
service (`FLEETLOOP_LABELING=file-drop`) writes every request the labeling queue sends out as a
folder of PNGs, Label Studio tasks and COCO; `import_labels` (`fleetloop labels import`) turns
the team's Label Studio JSON export or COCO file into a label batch on the landing branch,
where the same sensor, GX checks and publication as for the simulated labelers take over.
The Dagster resource lives in `resources.interop.service`, so the converters import without
Dagster.
"""

from resources.interop.errors import (
    BatchRejectedError,
    InteropError,
    InvalidRequestIdError,
    MalformedFileError,
    RequestNotFoundError,
)
from resources.interop.export import FORMATS, ExportResult, export_request
from resources.interop.importing import ImportResult, import_labels, read_label_file
from resources.interop.label_studio import label_config
from resources.interop.records import LabeledFrame, LabelFile

__all__ = [
    "FORMATS",
    "BatchRejectedError",
    "ExportResult",
    "ImportResult",
    "InteropError",
    "InvalidRequestIdError",
    "LabelFile",
    "LabeledFrame",
    "MalformedFileError",
    "RequestNotFoundError",
    "export_request",
    "import_labels",
    "label_config",
    "read_label_file",
]
