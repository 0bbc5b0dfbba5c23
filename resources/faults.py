"""Named fault points for the crash tests: with `FLEETLOOP_FAULT_POINT=<name>` in its
environment, a process ends at once (`os._exit`: no cleanup, no flush, as a SIGKILL would)
when it reaches the point of that name. Unset, a point costs one comparison. With
`FLEETLOOP_FAULT_ONCE=<file>` too, only the first process to reach the point dies (it creates
the file first): a run that Dagster retries after the kill then gets past it.

One registry for the store and the loop: `point()` refuses a name that is not listed here,
so a misspelled point fails the first time its code runs, armed or not."""

from __future__ import annotations

import os

EXIT_STATUS = 86  # how a test tells "died at the fault point" from any other ending
_ARMED = os.environ.get("FLEETLOOP_FAULT_POINT") or None
_ONCE = os.environ.get("FLEETLOOP_FAULT_ONCE") or None

# The embedded store's points, in the order an operation reaches them
# (bench/faults_store.py kills at each).
STORE_POINTS = (
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

# The loop's points, step by step (bench/faults_loop.py kills at each).
LOOP_POINTS = (
    "promotion:merged",  # the candidate is merged into main, the tag not yet created
    "promotion:tagged",  # `<model>-<version>` tags the merge, the registry knows nothing yet
    "promotion:recorded",  # the approved decision (and with it the alias) is in the catalog
    "promotion:alias",  # the alias is set again (a no-op after the decision); branch kept
    "promotion:branch_deleted",  # the candidate branch is gone; the run has not reported
    "label_sets:published",  # the batch is merged into main, the catalog knows nothing yet
    "label_sets:answered",  # its request is marked answered, the batch not yet recorded
    "label_sets:recorded",  # the batch is recorded; the run has not reported
    "fleet_upload_sensor:requested",  # the tick computed its run requests, returned nothing
    "label_batch_sensor:requested",
    # The daemon's steps of a tick, as the loop driver of the tests takes them: the
    # requested runs are launched and done, then the cursor is stored.
    "sensor_tick:launched",
    "sensor_tick:cursor",
)

POINTS = STORE_POINTS + LOOP_POINTS
_KNOWN = frozenset(POINTS)


def point(name: str) -> None:
    if name not in _KNOWN:
        raise ValueError(f"unknown fault point {name!r}; add it to resources/faults.py")
    if _ARMED is not None and name == _ARMED:
        if _ONCE is not None:
            try:
                os.close(os.open(_ONCE, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return  # it fired before, in another process
        os._exit(EXIT_STATUS)
