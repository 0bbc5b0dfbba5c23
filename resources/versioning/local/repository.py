"""One embedded repository on disk: the libgit2 repository, the object directory, the staging
area, branch locks, ref resolution and commit creation.

Layout under `<root>/<name>/`: `git/` (bare libgit2 repository: commits, trees, refs, small
objects), `objects/` (large objects by sha256), `staging.db`, `locks/`, `repository.json`.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from resources.versioning.errors import (
    AmbiguousRefError,
    ConflictError,
    RefNotFoundError,
)
from resources.versioning.local import midx
from resources.versioning.local.durable import git_fanout
from resources.versioning.local.faults import point
from resources.versioning.local.objects import ObjectDirectory
from resources.versioning.local.staging import StagingArea
from resources.versioning.local.trees import KeyIndex, TreeCache, lookup
from resources.versioning.names import check_ref
from resources.versioning.records import Commit

# libgit2 fsyncs every loose object and ref it writes (single puts, commit objects, merges);
# a commit's trees go into one pack that packs.write_pack fsyncs before it becomes visible.
pygit2.option(pygit2.enums.Option.ENABLE_FSYNC_GITDIR, 1)
# Like git, do not re-hash every object on read (it tripled the cost of reading a commit's
# trees at 1M objects): zlib's adler32 still checks each object's bytes as they are inflated,
# and `fsck` hashes every reachable object.
pygit2.option(pygit2.enums.Option.ENABLE_STRICT_HASH_VERIFICATION, 0)

_EXPR = re.compile(r"^([^~^]+)((?:[~^]\d*)*)$")
_OP = re.compile(r"([~^])(\d*)")
_HEX = re.compile(r"^[0-9a-f]{6,64}$")
_META_MARK = "\n\nFleetloop-Metadata: "


def commit_id_of(oid: pygit2.Oid) -> str:
    """The 64-hex, lakeFS-style id of a libgit2 commit (derived, so never stored wrongly)."""
    return hashlib.sha256(b"fleetloop-commit:" + oid.raw).hexdigest()


@dataclass(frozen=True)
class Resolved:
    commit: pygit2.Commit
    branch: str | None  # set when the ref is a plain branch name (its staging applies)


class LocalRepository:
    def __init__(self, name: str, path: Path):
        self.name = name
        self.path = path
        self.git = pygit2.Repository(str(path / "git"))
        with contextlib.suppress(OSError):  # a read-only store still opens for reading
            git_fanout(path / "git")
        self.objects = ObjectDirectory(path / "objects")
        self.staging = StagingArea(path / "staging.db")
        self.keys = KeyIndex()
        self.trees = TreeCache()
        settings = json.loads((path / "repository.json").read_text())
        self.default_branch: str = settings["default_branch"]
        with contextlib.suppress(sqlite3.DatabaseError):  # fsck names a damaged database
            for branch in self.staging.intent_branches():
                with self.lock(branch):  # settles a commit a killed process left half done
                    pass

    # -- locks ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, branch: str) -> Iterator[None]:
        """Exclusive lock on a branch's head (processes and threads alike). Whoever takes it
        first settles a commit that a killed process left between moving the head and
        settling its staged rows, so no holder ever sees those rows."""
        with self._flock(self.path / "locks" / f"{branch}.lock", f"refs/heads/{branch}"):
            self._settle_intent(branch)
            yield

    def _settle_intent(self, branch: str) -> None:
        intent = self.staging.intent(branch)
        if intent is None:
            return
        oid, stamps = pygit2.Oid(hex=intent[0]), intent[1]
        # Every head move holds this lock and settles first, so the head is either where the
        # dead commit started (it never moved: its rows stay staged) or at the commit.
        ref = self.git.references.get(f"refs/heads/{branch}")
        head = ref.target if ref is not None else None
        moved = head is not None and (head == oid or self.git.descendant_of(head, oid))
        self.staging.settle(branch, stamps if moved else None)

    @contextlib.contextmanager
    def lock_tag(self, tag: str) -> Iterator[None]:
        with self._flock(self.path / "locks" / "tags" / f"{tag}.lock", f"refs/tags/{tag}"):
            yield

    @contextlib.contextmanager
    def _flock(self, path: Path, ref: str) -> Iterator[None]:
        """flock `path`; then clear a lock file libgit2 left on `ref` when a process died while
        moving it. Every writer of a ref holds its flock first, so once we hold it a
        `<ref>.lock` can only be such a leftover, and would refuse every later update."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            (Path(self.git.path) / f"{ref}.lock").unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def packs_written(self) -> None:
        """Index the packs once enough of them are outside the multi-pack-index (midx.py).
        This process's libgit2 picks the new index up at its next look-up miss."""
        git_dir = Path(self.git.path)
        if midx.packs_outside(git_dir) >= midx.MIDX_AFTER:
            midx.write(git_dir, self.path / "locks")

    # -- refs -----------------------------------------------------------------------------
    def branch_commit(self, branch: str) -> pygit2.Commit:
        try:
            ref = self.git.references[f"refs/heads/{branch}"]
        except KeyError:
            raise RefNotFoundError(
                f"branch {branch!r} not found in repository {self.name!r}"
            ) from None
        return self.git[ref.target]

    def has_branch(self, branch: str) -> bool:
        return f"refs/heads/{branch}" in self.git.references

    def tag_target(self, tag: str) -> pygit2.Oid | None:
        try:
            return self.git.references[f"refs/tags/{tag}"].target
        except KeyError:
            return None

    def commit_by_id(self, prefix: str) -> pygit2.Commit | None:
        matches = self.staging.commits_with_prefix(prefix)
        if len(matches) > 1:
            raise AmbiguousRefError(
                f"commit id prefix {prefix!r} is ambiguous in repository {self.name!r}: "
                "give more characters"
            )
        if not matches:
            return None
        return self.git[pygit2.Oid(hex=matches[0][1])]

    def resolve(self, ref: str) -> Resolved:
        """Resolve a branch, tag, commit id (prefix) or `ref~n` / `ref^n` expression."""
        match = _EXPR.match(check_ref(ref))
        if match is None:
            raise RefNotFoundError(f"ref {ref!r} not found in repository {self.name!r}")
        base, ops = match.groups()
        branch = None
        if self.has_branch(base):
            commit, branch = self.branch_commit(base), base
        elif (target := self.tag_target(base)) is not None:
            commit = self.git[target]
        elif _HEX.match(base) and (found := self.commit_by_id(base)) is not None:
            commit = found
        else:
            raise RefNotFoundError(
                f"ref {base!r} not found in repository {self.name!r} "
                "(not a branch, a tag or a commit id)"
            )
        for op, number in _OP.findall(ops):
            count = int(number) if number else 1
            commit = self._walk(ref, commit, op, count)
            branch = None
        return Resolved(commit, branch)

    def _walk(self, ref: str, commit: pygit2.Commit, op: str, count: int) -> pygit2.Commit:
        if op == "^":
            if count == 0:
                return commit
            if len(commit.parents) < count:
                raise RefNotFoundError(
                    f"ref {ref!r}: commit {commit_id_of(commit.id)[:12]} has no parent {count}"
                )
            return commit.parents[count - 1]
        for _ in range(count):
            if not commit.parents:
                raise RefNotFoundError(f"ref {ref!r} goes past the first commit")
            commit = commit.parents[0]
        return commit

    # -- commits --------------------------------------------------------------------------
    def record(self, commit: pygit2.Commit) -> Commit:
        message, _, meta = commit.message.partition(_META_MARK)
        return Commit(
            id=commit_id_of(commit.id),
            message=message,
            metadata=json.loads(meta) if meta else {},
            parents=tuple(commit_id_of(oid) for oid in commit.parent_ids),
            committer=commit.committer.name,
            created_at=datetime.fromtimestamp(commit.commit_time, UTC),
        )

    def create_commit(
        self,
        branch: str,
        expected_head: pygit2.Oid,
        message: str,
        metadata: Mapping[str, str] | None,
        tree: pygit2.Oid,
        parents: list[pygit2.Oid],
        *,
        staged: list | None = None,
        fault: str = "commit",
    ) -> pygit2.Commit:
        """Create a commit and move `branch` to it, if the branch is still at `expected_head`.
        Callers hold the branch lock; the check also guards against writers that do not.
        With `staged` (the rows the commit takes) an intent row is written with the id, and
        the caller settles it (`staging.settle`) once the ref has moved."""
        text = message
        if metadata:
            text += _META_MARK + json.dumps(dict(metadata), sort_keys=True)
        user = os.environ.get("FLEETLOOP_USER") or getpass.getuser()
        signature = pygit2.Signature(user, f"{user}@fleetloop", int(time.time()), 0)
        oid = self.git.create_commit(None, signature, signature, text, tree, parents)
        # The id index is written before the ref moves: a crash in between leaves an unused
        # index row, never a branch head whose id cannot be resolved.
        if staged is None:
            self.staging.record_commit(commit_id_of(oid), str(oid))
        else:
            self.staging.record_commit(commit_id_of(oid), str(oid), branch=branch, rows=staged)
        point(f"{fault}:recorded")
        ref = self.git.references[f"refs/heads/{branch}"]
        if ref.target != expected_head:
            raise ConflictError(
                f"branch {branch!r} in repository {self.name!r} moved while committing; retry"
            )
        ref.set_target(oid, f"fleetloop: {message.splitlines()[0] if message else 'commit'}")
        point(f"{fault}:ref")
        return self.git[oid]

    def is_dirty(self, branch: str, head: pygit2.Commit) -> bool:
        return any(
            lookup(head.tree, path) != blob for path, blob, _, _ in self.staging.rows(branch)
        )

    @property
    def empty_tree(self) -> pygit2.Tree:
        return self.git[self.git.TreeBuilder().write()]
