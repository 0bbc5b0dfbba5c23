"""Small typed records the store returns: commits, refs, object stats, diff entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Repository:
    name: str
    default_branch: str
    storage: str  # where the bytes live: a directory for LocalStore, a namespace for lakeFS


@dataclass(frozen=True)
class Commit:
    id: str  # 64 hex characters
    message: str
    metadata: dict[str, str]
    parents: tuple[str, ...]
    committer: str
    created_at: datetime


@dataclass(frozen=True)
class Ref:
    """A branch or a tag and the commit it points to."""

    name: str
    commit_id: str


@dataclass(frozen=True)
class ObjectStat:
    path: str
    checksum: str  # sha256 of the content (LocalStore) or the backend's ETag (lakeFS)
    size: int
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    physical_address: str = ""
    mtime: datetime | None = None


@dataclass(frozen=True)
class CommonPrefix:
    """A 'directory' in a delimited listing."""

    path: str


class ChangeType(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class Change:
    type: ChangeType
    path: str


class MergeStrategy(StrEnum):
    SOURCE_WINS = "source-wins"
    DEST_WINS = "dest-wins"
