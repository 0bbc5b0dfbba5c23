"""Where labeling requests go: an interface, and the simulated labelers' inbox.

The labeling queue asset publishes each request to the store (`labeling/requests/`) and then
hands it to the service. Labels come back the other way, as a commit on the landing branch
(`uploads/labels/<batch>/`), whoever made them.
"""

from __future__ import annotations

import abc
import io
import os
from pathlib import Path

import dagster as dg
import polars as pl

from resources.interop.records import check_request_id
from resources.settings import fleetloop_home


class LabelingService(dg.ConfigurableResource, abc.ABC):
    @abc.abstractmethod
    def submit(self, request_id: str, request: pl.DataFrame) -> str:
        """Send a request (`LABEL_REQUEST` rows); idempotent per request id; returns where
        it went, for the run log."""


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class SimulatedLabelingService(LabelingService):
    """Drops requests into the simulated labelers' inbox (`$FLEETLOOP_HOME/labelers/inbox`);
    the simulated labelers (the demo's outside world) answer them on the landing branch."""

    inbox: str = ""

    def inbox_dir(self) -> Path:
        return Path(self.inbox) if self.inbox else fleetloop_home() / "labelers" / "inbox"

    def submit(self, request_id: str, request: pl.DataFrame) -> str:
        # the id comes from main, whoever wrote it there: it names a file, so only a queue id
        target = self.inbox_dir() / f"{check_request_id(request_id)}.parquet"
        if not target.exists():
            buffer = io.BytesIO()
            request.write_parquet(buffer)
            _write_atomic(target, buffer.getvalue())
        return str(target)
