"""Named fault points for the crash tests: with `FLEETLOOP_FAULT_POINT=<name>` in its
environment, a process ends at once (`os._exit`: no cleanup, no flush, as a SIGKILL would)
when it reaches the point of that name. Unset, a point costs one comparison."""

from __future__ import annotations

import os

EXIT_STATUS = 86  # how a test tells "died at the fault point" from any other ending
_ARMED = os.environ.get("FLEETLOOP_FAULT_POINT") or None

# Every point, in the order an operation reaches them (bench/faults_store.py kills at each).
POINTS = (
    "put:object",  # a large object's file is in place, its pointer blob not yet written
    "put:blob",  # the pointer blob is written, the staging row not yet
    "commit:trees",  # the commit's new trees are durable in a pack
    "commit:recorded",  # the commit object and the intent row exist; the ref has not moved
    "commit:ref",  # the branch points at the new commit; its staged rows are not settled
    "commit:settled",  # staged rows settled: the commit is complete
    "merge:trees",  # the merged tree is written
    "merge:recorded",
    "merge:ref",
    "revert:recorded",
    "revert:ref",
    "tag:resolved",  # the target commit is resolved under the tag lock, the ref not written
    "tag:created",
)


def point(name: str) -> None:
    if _ARMED is not None and name == _ARMED:
        os._exit(EXIT_STATUS)
