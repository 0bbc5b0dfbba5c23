"""The landing branch: where the outside world (fleet uploads, labeling teams) drops data.

Nothing external writes to main. Uploads are committed to `landing` under `uploads/`; sensors
read what arrived since the last commit they handled (their cursor) and request the assets
that validate the files and publish them to main.
"""

from __future__ import annotations

from dataclasses import dataclass

from resources.versioning import ChangeType, ObjectStat, VersionedStore

LANDING_BRANCH = "landing"
LANDING_COMMIT_TAG = "fleetloop/landing_commit"  # run tag: the landing commit a run reads
DRIVE_UPLOADS = "uploads/drives/"
LABEL_UPLOADS = "uploads/labels/"


def ensure_landing(store: VersionedStore, repository: str, main: str = "main") -> str:
    return store.create_branch(repository, LANDING_BRANCH, main, exist_ok=True).commit_id


@dataclass(frozen=True)
class Arrivals:
    paths: list[str]  # files added or replaced since the cursor, sorted
    head: str  # the landing commit they were read at: the sensor's next cursor


def arrivals_since(
    store: VersionedStore, repository: str, cursor: str | None, prefix: str
) -> Arrivals:
    """Files under `prefix` on the landing branch committed after commit `cursor`."""
    head = store.get_branch(repository, LANDING_BRANCH).commit_id
    if cursor == head:
        return Arrivals([], head)
    if cursor is None:
        paths = [
            entry.path
            for entry in store.list_objects(repository, head, prefix)
            if isinstance(entry, ObjectStat)
        ]
    else:
        paths = [
            change.path
            for change in store.diff(repository, cursor, head, prefix=prefix, two_dot=True)
            if change.type is not ChangeType.REMOVED
        ]
    return Arrivals(sorted(paths), head)


def upload_name(path: str, prefix: str) -> str:
    """`uploads/drives/d0007.parquet` → `d0007` (the partition key)."""
    return path[len(prefix) :].rsplit(".", 1)[0]
