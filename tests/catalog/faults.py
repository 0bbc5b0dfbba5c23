"""Counting what the fault tests tried, for `bench/faults_input.py` (issue 11's figures)."""

from __future__ import annotations

import json
import os

import pytest

FAULTS_LOG_ENV = "FLEETLOOP_FAULTS_LOG"


class FaultCounter:
    """Counts what a test tried (races run, bad inputs refused); with `$FLEETLOOP_FAULTS_LOG`
    set, each test appends its count there as a JSON line (`bench/faults_input.py` sums them)."""

    def __init__(self, kind: str, test: str):
        self.kind, self.test, self.n = kind, test, 0

    def count(self, n: int = 1) -> None:
        self.n += n

    def report(self) -> None:
        if (log := os.environ.get(FAULTS_LOG_ENV)) and self.n:
            with open(log, "a", encoding="utf-8") as out:
                out.write(json.dumps({"kind": self.kind, "test": self.test, "n": self.n}) + "\n")


def counter(request: pytest.FixtureRequest, kind: str):
    """A `FaultCounter` for the requesting test, reported when it ends."""
    found = FaultCounter(kind, request.node.nodeid)
    request.addfinalizer(found.report)
    return found
