"""Request ids come from main, whoever wrote them there: every labeling service validates one
before it names a file or folder, so a hostile id writes nothing anywhere."""

from __future__ import annotations

import polars as pl
import pytest

from resources.interop.errors import InvalidRequestIdError
from resources.interop.service import FileDropLabelingService
from resources.labeling import SimulatedLabelingService
from resources.store_resource import LocalStoreResource

HOSTILE = ["../../escaped", "/tmp/absolute", "req-0123456789ab/../../x", "req-0123456789ab\n", ""]


@pytest.mark.parametrize("request_id", HOSTILE)
def test_a_hostile_request_id_is_refused_before_any_path(tmp_path, request_id, bad_inputs):
    rows = pl.DataFrame({"request_id": [request_id], "frame_id": ["d0000-00001"]})
    services = [
        SimulatedLabelingService(inbox=str(tmp_path / "a" / "b" / "inbox")),
        FileDropLabelingService(
            drop_dir=str(tmp_path / "a" / "b" / "drop"),
            store=LocalStoreResource(root=str(tmp_path / "store")),
        ),
    ]
    for service in services:
        with pytest.raises(InvalidRequestIdError, match="is not a labeling request id") as error:
            service.submit(request_id, rows)
        assert "\n" not in str(error.value)
        bad_inputs.count()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "store" not in p.parts]
    assert written == []


def test_a_queue_request_id_is_written(tmp_path):
    service = SimulatedLabelingService(inbox=str(tmp_path / "inbox"))
    rows = pl.DataFrame({"request_id": ["req-0123456789ab"], "frame_id": ["d0000-00001"]})
    assert service.submit("req-0123456789ab", rows).endswith("inbox/req-0123456789ab.parquet")
