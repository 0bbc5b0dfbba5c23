"""A labeling team at work on an export: what Label Studio and a COCO tool hand back.

The team draws the simulated labelers' boxes (the only door to the fleet's truth), converted
here by hand from the formats' documentation, not with fleetloop's converters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from resources.simulation import LabelBatch


def boxes_by_frame(batch: LabelBatch) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in batch.boxes.iter_rows(named=True):
        out.setdefault(row["frame_id"], []).append(row)
    return out


def rectangle(box: dict[str, Any], width: int, height: int, rid: str) -> dict[str, Any]:
    """One `rectanglelabels` result: top-left corner and size in percent of the image."""
    return {
        "id": rid,
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "origin": "manual",
        "value": {
            "x": box["x0"] / width * 100,
            "y": box["y0"] / height * 100,
            "width": (box["x1"] - box["x0"]) / width * 100,
            "height": (box["y1"] - box["y0"]) / height * 100,
            "rotation": 0,
            "rectanglelabels": [box["cls"]],
        },
    }


def label_studio_export(tasks: list[dict[str, Any]], batch: LabelBatch, size: int) -> list:
    """Label Studio's JSON export of the imported tasks once the team labeled them: ids
    assigned, each task's annotation holding the labelers' boxes (none: a true negative)."""
    boxes = boxes_by_frame(batch)
    exported = []
    for number, task in enumerate(tasks, start=1):
        fid = task["data"]["frame_id"]
        results = [
            rectangle(b, size, size, f"r{number}-{i}") for i, b in enumerate(boxes.get(fid, []))
        ]
        annotation = {
            "id": 1000 + number,
            "completed_by": 7,
            "result": results,
            "was_cancelled": False,
            "ground_truth": False,
            "created_at": "2026-03-09T22:16:08.728353Z",
            "updated_at": "2026-03-09T22:20:00.000000Z",
            "lead_time": 4.2,
            "task": number,
        }
        exported.append(
            {
                "id": number,
                "data": task["data"],
                "annotations": [annotation],
                "predictions": task.get("predictions", []),
                "project": 3,
            }
        )
    return exported


def coco_export(coco: dict[str, Any], batch: LabelBatch) -> dict[str, Any]:
    """The COCO file back from a tool that numbers categories from 0 (as Label Studio's
    COCO export does) and lists them in another order."""
    boxes = boxes_by_frame(batch)
    names = ["green_cone", "orange_cone"]
    annotations = []
    for image in coco["images"]:
        fid = Path(image["file_name"]).stem
        for b in boxes.get(fid, []):
            w, h = b["x1"] - b["x0"], b["y1"] - b["y0"]
            annotations.append(
                {
                    "id": len(annotations),
                    "image_id": image["id"],
                    "category_id": names.index(b["cls"]),
                    "bbox": [b["x0"], b["y0"], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "segmentation": [],
                    "ignore": 0,
                }
            )
    return {
        **coco,
        "categories": [{"id": i, "name": n} for i, n in enumerate(names)],
        "annotations": annotations,
    }


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path
