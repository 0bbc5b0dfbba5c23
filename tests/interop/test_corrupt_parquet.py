"""Truncated, bit-flipped and lying-footer drive logs end in one line naming the file, never in
a process abort (polars and pyarrow's dataset reader both trusted a corrupt footer's sizes).

Every case is read in a child process, so an abort is a failed case instead of a dead pytest.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resources.simulation import Fleet, FleetConfig

PATH = "uploads/drives/d0000.parquet"
CHILD = """
import json, sys
from resources.landing import UnreadableUploadError, parquet_upload
for line in sys.stdin:
    try:
        table = parquet_upload(bytes.fromhex(line.strip()), sys.argv[1])
        print(json.dumps({"read": table.height}), flush=True)
    except UnreadableUploadError as error:
        print(json.dumps({"error": str(error)}), flush=True)
"""


@pytest.fixture(scope="module")
def log_bytes() -> bytes:
    buffer = io.BytesIO()
    Fleet(FleetConfig(seed=3, drives=1, frames_per_drive=8)).drive_log("d0000").write_parquet(
        buffer
    )
    return buffer.getvalue()


def read_in_child(cases: list[bytes]) -> list[dict]:
    """Each case through `parquet_upload` in one child; its exit code tells an abort."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, PATH],
        input="".join(case.hex() + "\n" for case in cases),
        capture_output=True,
        text=True,
        timeout=600,
    )
    outcomes = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, (
        f"the reader died (exit {done.returncode}) on case {len(outcomes)}: {done.stderr[-300:]}"
    )
    assert len(outcomes) == len(cases)
    return outcomes


def assert_clear(outcomes: list[dict]) -> None:
    for outcome in outcomes:
        if "error" in outcome:
            assert outcome["error"].startswith(f"{PATH}: "), outcome
            assert "\n" not in outcome["error"]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def lying_footers(data: bytes) -> list[bytes]:
    """The file with each i64 field in its footer that holds the row count (the file's, the
    row group's, each column chunk's value count) claiming 2**40 instead: the case that
    aborted pyarrow's `read_table`."""
    rows = pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    size = struct.unpack("<I", data[-8:-4])[0]
    body, footer = data[: -8 - size], data[-8 - size : -8]
    field = b"\x16" + varint(2 * rows)  # compact thrift: next field, i64, zigzag varint
    cases, at = [], footer.find(field)
    while at >= 0:
        lie = footer[: at + 1] + varint(2**41) + footer[at + len(field) :]
        cases.append(body + lie + struct.pack("<I", len(lie)) + b"PAR1")
        at = footer.find(field, at + 1)
    return cases


def test_footers_that_lie_about_sizes_are_refused(log_bytes, bad_inputs):
    cases = lying_footers(log_bytes)
    assert len(cases) >= 10  # the row count and every column's value count
    outcomes = read_in_child(cases)
    assert_clear(outcomes)
    assert all("error" in o for o in outcomes), outcomes
    bad_inputs.count(len(cases))


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True)),
    st.tuples(
        st.just("flip"),
        st.lists(
            st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=6
        ),
    ),
)


def mutate(data: bytes, how) -> bytes:
    kind, arg = how
    if kind == "truncate":
        return data[: int(arg * len(data))]
    flipped = bytearray(data)
    for where, bit in arg:
        # most flips land in the footer, where sizes live
        at = len(data) - 1 - int(where * 3000) if bit % 2 else int(where * len(data))
        flipped[at] ^= 1 << bit
    return bytes(flipped)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(mutation, min_size=40, max_size=40))
def test_truncated_and_bit_flipped_logs_never_abort(log_bytes, bad_inputs, mutations):
    cases = [mutate(log_bytes, how) for how in mutations]
    outcomes = read_in_child(cases)
    assert_clear(outcomes)
    # a flip in image bytes can still be a readable file: GX judges its content; the rest
    # are refused with a clear error, and counted
    bad_inputs.count(sum("error" in o for o in outcomes))
