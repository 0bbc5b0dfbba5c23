"""The outside world of the demo: a fleet that uploads drives and labelers that answer requests.

Neither touches main or Dagster: the fleet commits drive logs to the landing branch, the
labelers read requests from their inbox (where `SimulatedLabelingService` drops them) and
commit label batches to the landing branch. Every landing write goes through `transact()`, so
two writers never trip over each other and a crash leaves no half-written upload.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from resources.landing import upload_drives, upload_label_batch  # noqa: F401  (re-exported)
from resources.simulation import Fleet, SimulatedLabelers
from resources.versioning import VersionedStore


@dataclass(frozen=True)
class Answer:
    request_id: str
    batch_id: str
    frames: int
    boxes: int
    commit: str


def upload_fleet(
    store: VersionedStore, repo: str, fleet: Fleet, drive_ids: Iterable[str] | None = None
) -> str:
    ids = list(drive_ids) if drive_ids is not None else fleet.drive_ids
    return upload_drives(
        store,
        repo,
        {d: fleet.drive_log(d) for d in ids},
        message=f"fleet upload: {len(ids)} drives",
    )


def pending_requests(inbox: Path) -> list[Path]:
    return sorted(inbox.glob("req-*.parquet")) if inbox.exists() else []


def answer_requests(
    store: VersionedStore, repo: str, inbox: Path, labelers: SimulatedLabelers
) -> list[Answer]:
    """Label every request waiting in the inbox and upload each as one batch; an answered
    request moves to `inbox/answered/`, so it is answered once."""
    answers = []
    done = inbox / "answered"
    for path in pending_requests(inbox):
        request = pl.read_parquet(path)
        request_id = path.stem
        batch_id = f"lb-{request_id.removeprefix('req-')}"
        batch = labelers.label(request.get_column("frame_id").to_list(), batch_id)
        info = {"request_id": request_id, "labeler": labelers.name, "source": "simulated"}
        commit = upload_label_batch(store, repo, batch_id, batch.frames, batch.boxes, info)
        done.mkdir(parents=True, exist_ok=True)
        os.replace(path, done / path.name)
        (done / f"{request_id}.json").write_text(
            json.dumps({"batch_id": batch_id, "commit": commit})
        )
        answers.append(
            Answer(request_id, batch_id, batch.frames.height, batch.boxes.height, commit)
        )
    return answers
