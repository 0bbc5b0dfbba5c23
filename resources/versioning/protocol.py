"""`VersionedStore`: the one interface fleetloop's assets use to keep data, with lakeFS semantics.

A repository holds branches; objects written to a branch are visible on it at once (staged)
and become a commit when the branch is committed. Refs are branch names, tags, 64-hex commit
ids (or unique prefixes) and the expressions `ref~n` and `ref^n`. Both backends (`LocalStore`,
`LakeFSStore`) pass the same contract suite (tests/versioning/test_contract.py).
"""

from __future__ import annotations

import abc
import contextlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO

from resources.versioning.errors import (
    ConflictError,
    MergeConflictError,
    NotFoundError,
    ObjectNotFoundError,
)
from resources.versioning.names import check_path
from resources.versioning.records import (
    Change,
    Commit,
    CommonPrefix,
    MergeStrategy,
    ObjectStat,
    Ref,
    Repository,
)

DEFAULT_CONTENT_TYPE = "application/octet-stream"


class VersionedStore(abc.ABC):
    def web_endpoint(self) -> str | None:
        """The address of the backend's own web UI, where objects open in a browser; None for a
        backend without one (the embedded store, which `fleetloop ui` serves read-only)."""
        return None

    # -- repositories ---------------------------------------------------------------------
    @abc.abstractmethod
    def create_repository(
        self, name: str, default_branch: str = "main", *, exist_ok: bool = False
    ) -> Repository: ...

    @abc.abstractmethod
    def get_repository(self, name: str) -> Repository: ...

    @abc.abstractmethod
    def list_repositories(self) -> list[Repository]: ...

    @abc.abstractmethod
    def delete_repository(self, name: str) -> None: ...

    # -- branches and tags ----------------------------------------------------------------
    @abc.abstractmethod
    def create_branch(self, repo: str, name: str, source: str, *, exist_ok: bool = False) -> Ref:
        """Branch from any ref in O(1); with exist_ok an existing branch is returned as it
        is, wherever its head."""

    @abc.abstractmethod
    def get_branch(self, repo: str, name: str) -> Ref: ...

    @abc.abstractmethod
    def list_branches(self, repo: str) -> list[Ref]: ...

    @abc.abstractmethod
    def delete_branch(self, repo: str, name: str) -> None: ...

    @abc.abstractmethod
    def create_tag(self, repo: str, name: str, ref: str, *, exist_ok: bool = False) -> Ref:
        """Tags are immutable: an existing tag is never moved (exist_ok only accepts the
        same target)."""

    @abc.abstractmethod
    def list_tags(self, repo: str) -> list[Ref]: ...

    @abc.abstractmethod
    def delete_tag(self, repo: str, name: str) -> None: ...

    # -- objects --------------------------------------------------------------------------
    @abc.abstractmethod
    def put(
        self,
        repo: str,
        branch: str,
        path: str,
        data: bytes | BinaryIO,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectStat:
        """Stage an object on a branch; `data` may be a file object, read in chunks."""

    def put_many(self, repo: str, branch: str, items: Iterable[tuple[str, bytes]]) -> int:
        """Stage many small objects; backends override this with a batched write. Every path
        is checked before the first write, so a bad one stages nothing."""
        batch = [(check_path(path), data) for path, data in items]
        for path, data in batch:
            self.put(repo, branch, path, data)
        return len(batch)

    @abc.abstractmethod
    def open_reader(self, repo: str, ref: str, path: str) -> BinaryIO:
        """A streaming reader of an object's bytes at a ref (close it, or use `with`)."""

    def get(self, repo: str, ref: str, path: str) -> bytes:
        with self.open_reader(repo, ref, path) as reader:
            return reader.read()

    @abc.abstractmethod
    def stat(self, repo: str, ref: str, path: str) -> ObjectStat: ...

    def exists(self, repo: str, ref: str, path: str) -> bool:
        try:
            self.stat(repo, ref, path)
        except ObjectNotFoundError:
            return False
        return True

    @abc.abstractmethod
    def list_objects(
        self,
        repo: str,
        ref: str,
        prefix: str = "",
        *,
        delimiter: str = "",
        after: str = "",
        max_amount: int | None = None,
    ) -> Iterator[ObjectStat | CommonPrefix]:
        """Objects under `prefix` in path order, starting after `after`; with delimiter '/'
        the entries below the next '/' are folded into one CommonPrefix (and `after` equal to
        a common prefix skips all of it)."""

    @abc.abstractmethod
    def delete(self, repo: str, branch: str, path: str) -> None: ...

    @abc.abstractmethod
    def uncommitted(self, repo: str, branch: str, prefix: str = "") -> list[Change]: ...

    @abc.abstractmethod
    def reset(self, repo: str, branch: str, path: str | None = None) -> None:
        """Drop uncommitted changes: all of them (path None or ""), or those at `path` (an
        object path, or a prefix ending in '/')."""

    # -- commits --------------------------------------------------------------------------
    @abc.abstractmethod
    def commit(
        self,
        repo: str,
        branch: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        allow_empty: bool = False,
    ) -> Commit: ...

    @abc.abstractmethod
    def get_commit(self, repo: str, ref: str) -> Commit: ...

    def resolve(self, repo: str, ref: str) -> str:
        """The commit id a ref expression points to."""
        return self.get_commit(repo, ref).id

    @abc.abstractmethod
    def log(self, repo: str, ref: str, *, max_amount: int | None = None) -> Iterator[Commit]:
        """Commits reachable from ref, newest first."""

    @abc.abstractmethod
    def diff(
        self, repo: str, left: str, right: str, *, prefix: str = "", two_dot: bool = False
    ) -> list[Change]:
        """What `right` changed. Three-dot (default): since the merge base of left and right,
        the way a merge would see it. Two-dot: the direct difference of the two trees."""

    @abc.abstractmethod
    def merge(
        self,
        repo: str,
        source: str,
        destination: str,
        *,
        message: str | None = None,
        metadata: Mapping[str, str] | None = None,
        strategy: MergeStrategy | str | None = None,
    ) -> Commit:
        """Three-way merge of a ref into a branch; always a merge commit whose parents are
        (destination head, source). Raises
        MergeConflictError naming every conflicting path unless a strategy is given, and
        DirtyBranchError when the destination has uncommitted changes."""

    @abc.abstractmethod
    def revert(self, repo: str, branch: str, ref: str, *, parent_number: int = 0) -> Commit: ...

    # -- write-audit-publish --------------------------------------------------------------
    @contextlib.contextmanager
    def transact(
        self,
        repo: str,
        branch: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        allow_empty: bool = False,
        retries: int = 5,
    ) -> Iterator[str]:
        """Work on an ephemeral branch; commit and merge it back on success, delete it in
        every case. Yields the ephemeral branch name to write to."""
        ephemeral = f"{branch}-txn-{uuid.uuid4().hex[:12]}"
        self.create_branch(repo, ephemeral, branch)
        try:
            yield ephemeral
            self.commit(repo, ephemeral, message, metadata=metadata, allow_empty=allow_empty)
            for attempt in range(retries + 1):
                try:
                    self.merge(repo, ephemeral, branch, message=message, metadata=metadata)
                    break
                except MergeConflictError:
                    raise
                except ConflictError:
                    if attempt == retries:
                        raise
        finally:
            with contextlib.suppress(NotFoundError):
                self.delete_branch(repo, ephemeral)
