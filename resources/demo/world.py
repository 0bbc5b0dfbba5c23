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

from resources.landing import DRIVE_UPLOADS, LABEL_UPLOADS, LANDING_BRANCH, ensure_landing
from resources.simulation import Fleet, SimulatedLabelers
from resources.storage import JSON, PARQUET, json_bytes, table_bytes
from resources.versioning import VersionedStore


@dataclass(frozen=True)
class Answer:
    request_id: str
    batch_id: str
    frames: int
    boxes: int
    commit: str


def upload_drives(
    store: VersionedStore,
    repo: str,
    logs: dict[str, bytes | pl.DataFrame],
    *,
    message: str = "fleet upload",
) -> str:
    """Commit drive logs (id → Parquet bytes or table) to the landing branch in one commit."""
    ensure_landing(store, repo)
    with store.transact(repo, LANDING_BRANCH, message, metadata={"drives": str(len(logs))}) as txn:
        for drive_id, log in sorted(logs.items()):
            data = log if isinstance(log, bytes) else table_bytes(log)
            store.put(repo, txn, f"{DRIVE_UPLOADS}{drive_id}.parquet", data, content_type=PARQUET)
    return store.get_branch(repo, LANDING_BRANCH).commit_id


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


def upload_label_batch(
    store: VersionedStore,
    repo: str,
    batch_id: str,
    frames: pl.DataFrame,
    boxes: pl.DataFrame,
    info: dict[str, str],
) -> str:
    """Commit one label batch (`uploads/labels/<batch>/…`) to the landing branch."""
    ensure_landing(store, repo)
    base = f"{LABEL_UPLOADS}{batch_id}/"
    with store.transact(repo, LANDING_BRANCH, f"label batch {batch_id}", metadata=info) as txn:
        store.put(repo, txn, f"{base}frames.parquet", table_bytes(frames), content_type=PARQUET)
        store.put(repo, txn, f"{base}boxes.parquet", table_bytes(boxes), content_type=PARQUET)
        store.put(repo, txn, f"{base}batch.json", json_bytes(info), content_type=JSON)
    return store.get_branch(repo, LANDING_BRANCH).commit_id


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
