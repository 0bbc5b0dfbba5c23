"""`FileDropLabelingService`: labeling requests as folders a real labeling team picks up.

Each request becomes `<drop_dir>/<request_id>/` holding the frames' PNGs, Label Studio tasks
(pre-annotated by the production model) with their labeling config, a COCO file and
`request.json`. The folder is built next to its final place and renamed into it, so a team
never sees half a request and submitting twice writes it once. Labels come back through
`fleetloop labels import`, onto the landing branch like any other batch.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl

from resources.interop.export import FORMATS, export_request
from resources.interop.label_studio import LOCAL_FILES
from resources.interop.records import check_request_id
from resources.labeling import LabelingService, SimulatedLabelingService
from resources.settings import fleetloop_home
from resources.store_resource import VersionedStoreResource, store_resource_from_env

LABELING_KINDS = ("simulated", "file-drop")


class FileDropLabelingService(LabelingService):
    """Writes each request into `drop_dir` (default `$FLEETLOOP_HOME/labeling/drop`), reading
    its pixels and predictions from `store` on its main branch. Serve `drop_dir` to Label Studio
    as its local-files document root and the tasks' images resolve as they are."""

    drop_dir: str = ""
    store: VersionedStoreResource

    def drop_path(self) -> Path:
        return Path(self.drop_dir) if self.drop_dir else fleetloop_home() / "labeling" / "drop"

    def submit(self, request_id: str, request: pl.DataFrame) -> str:
        target = self.drop_path() / check_request_id(request_id)  # a folder name: no '../
        if target.exists():
            return str(target)
        staging = target.with_name(f".{request_id}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            export_request(
                self.store.ensure_repository(),
                self.store.repository,
                request_id,
                staging,
                formats=FORMATS,
                ref=self.store.main_branch,
                request=request,
                image_prefix=f"{LOCAL_FILES}{request_id}/images/",
            )
            os.replace(staging, target)
        except OSError:
            if not target.exists():  # not a concurrent submit that won the rename
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return str(target)


def labeling_from_env() -> LabelingService:
    """`FLEETLOOP_LABELING=simulated` (default) or `file-drop` (into `FLEETLOOP_LABELING_DROP`)."""
    kind = os.environ.get("FLEETLOOP_LABELING", "simulated").strip().lower() or "simulated"
    if kind == "simulated":
        return SimulatedLabelingService()
    if kind == "file-drop":
        drop = os.environ.get("FLEETLOOP_LABELING_DROP", "")
        return FileDropLabelingService(drop_dir=drop, store=store_resource_from_env())
    raise ValueError(
        f"FLEETLOOP_LABELING={kind!r} is not a labeling service: use {' or '.join(LABELING_KINDS)}"
    )
