"""`LocalStore`: the embedded, zero-set-up backend of the versioned store.

libgit2 (pygit2) holds the commit graph, trees, refs, merge bases and three-way tree merges;
small objects live inside their pointer blobs, large ones in a content-addressed directory;
SQLite holds the staging area. Every write is atomic (temp + fsync + rename, ref update last),
so a crash leaves each branch at its old or its new head. This module holds repositories,
refs and objects; history.py the commits, diffs and merges; fsck.py the verification.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pygit2

from resources.settings import fleetloop_home
from resources.versioning.errors import (
    AlreadyExistsError,
    CorruptionError,
    InvalidArgumentError,
    ObjectNotFoundError,
    RefNotFoundError,
    RepositoryNotFoundError,
    StoreError,
)
from resources.versioning.local.durable import fsync_dir, fsync_tree, make_dirs, write_atomic
from resources.versioning.local.faults import point
from resources.versioning.local.fsck import FsckReport, check_repository
from resources.versioning.local.history import LocalHistory
from resources.versioning.local.packs import write_blob_pack
from resources.versioning.local.pointers import (
    INLINE_MAX,
    Pointer,
    decode_pointer,
    inline_record,
)
from resources.versioning.local.repository import LocalRepository, commit_id_of
from resources.versioning.local.trees import lookup
from resources.versioning.names import (
    check_branch_name,
    check_metadata,
    check_path,
    check_prefix,
    check_repository_name,
    check_tag_name,
    check_text,
)
from resources.versioning.protocol import DEFAULT_CONTENT_TYPE, VersionedStore
from resources.versioning.records import (
    Change,
    ChangeType,
    CommonPrefix,
    ObjectStat,
    Ref,
    Repository,
)


class LocalStore(LocalHistory, VersionedStore):
    """Embedded store under `root` (default `$FLEETLOOP_HOME/store`)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else fleetloop_home() / "store"
        make_dirs(self.root)
        self._repos: dict[tuple[str, int], LocalRepository] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _repo(self, name: str) -> LocalRepository:
        check_repository_name(name)
        key = (name, os.getpid())
        with self._lock:
            repo = self._repos.get(key)
            if repo is None:
                path = self.root / name
                if not (path / "repository.json").exists():
                    raise RepositoryNotFoundError(
                        f"repository {name!r} not found in {self.root} "
                        "(create it with create_repository)"
                    )
                try:
                    repo = LocalRepository(name, path)
                except (ValueError, KeyError, OSError, sqlite3.DatabaseError, pygit2.GitError) as e:
                    raise CorruptionError(
                        f"repository {name!r} in {self.root} cannot be opened ({e}); restore it "
                        "from a backup"
                    ) from None
                self._repos[key] = repo
        return repo

    # -- repositories ---------------------------------------------------------------------
    def create_repository(
        self, name: str, default_branch: str = "main", *, exist_ok: bool = False
    ) -> Repository:
        check_repository_name(name)
        check_branch_name(default_branch)
        final = self.root / name
        if (final / "repository.json").exists():
            if exist_ok:
                return self.get_repository(name)
            raise AlreadyExistsError(f"repository {name!r} already exists in {self.root}")
        # Built aside and renamed into place: a half-created repository is never visible.
        building = self.root / f".creating-{uuid.uuid4().hex}"
        git = pygit2.init_repository(str(building / "git"), bare=True, initial_head=default_branch)
        (building / "objects").mkdir()
        (building / "locks").mkdir()
        settings = {"default_branch": default_branch, "created_at": datetime.now(UTC).isoformat()}
        write_atomic(building / "repository.json", json.dumps(settings).encode(), mode=0o644)
        repo = LocalRepository(name, building)
        signature = pygit2.Signature("fleetloop", "fleetloop@fleetloop")
        oid = git.create_commit(
            f"refs/heads/{default_branch}",
            signature,
            signature,
            "Repository created",
            git.TreeBuilder().write(),
            [],
        )
        repo.staging.record_commit(commit_id_of(oid), str(oid))
        repo.staging.close()
        fsync_tree(building)  # libgit2's init and SQLite's creation fsync no directory
        try:
            os.rename(building, final)
        except OSError:
            shutil.rmtree(building, ignore_errors=True)
            if exist_ok and (final / "repository.json").exists():
                return self.get_repository(name)
            raise AlreadyExistsError(f"repository {name!r} already exists in {self.root}") from None
        fsync_dir(self.root)
        return self.get_repository(name)

    def get_repository(self, name: str) -> Repository:
        repo = self._repo(name)
        return Repository(name, repo.default_branch, str(repo.path))

    def list_repositories(self) -> list[Repository]:
        # '.creating-…' and '.deleting-…' directories are half-made or half-removed ones.
        names = sorted(
            path.name
            for path in self.root.iterdir()
            if not path.name.startswith(".") and (path / "repository.json").exists()
        )
        return [self.get_repository(name) for name in names]

    def delete_repository(self, name: str) -> None:
        repo = self._repo(name)
        repo.staging.close()
        with self._lock:
            self._repos.pop((name, os.getpid()), None)
        trash = self.root / f".deleting-{uuid.uuid4().hex}"
        os.rename(repo.path, trash)
        fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

    # -- branches and tags ----------------------------------------------------------------
    def create_branch(self, repo: str, name: str, source: str, *, exist_ok: bool = False) -> Ref:
        check_branch_name(name)
        r = self._repo(repo)
        target = r.resolve(source).commit
        with r.lock(name):
            if r.has_branch(name):
                current = r.branch_commit(name)
                if exist_ok:
                    return Ref(name, commit_id_of(current.id))
                raise AlreadyExistsError(f"branch {name!r} already exists in repository {repo!r}")
            # Staged rows under this name are a branch deleted by a process that died before
            # it cleared them; the new branch must not inherit them.
            if r.staging.has_rows(name):
                r.staging.clear(name)
            r.git.references.create(f"refs/heads/{name}", target.id)
        return Ref(name, commit_id_of(target.id))

    def get_branch(self, repo: str, name: str) -> Ref:
        check_branch_name(name)
        return Ref(name, commit_id_of(self._repo(repo).branch_commit(name).id))

    def list_branches(self, repo: str) -> list[Ref]:
        r = self._repo(repo)
        names = sorted(
            ref[len("refs/heads/") :] for ref in r.git.references if ref.startswith("refs/heads/")
        )
        return [Ref(name, commit_id_of(r.branch_commit(name).id)) for name in names]

    def delete_branch(self, repo: str, name: str) -> None:
        check_branch_name(name)
        r = self._repo(repo)
        if name == r.default_branch:
            raise InvalidArgumentError(
                f"branch {name!r} is the default branch of repository {repo!r}; it cannot be "
                "deleted"
            )
        with r.lock(name):
            r.branch_commit(name)
            r.git.references.delete(f"refs/heads/{name}")
            r.staging.clear(name)

    def create_tag(self, repo: str, name: str, ref: str, *, exist_ok: bool = False) -> Ref:
        check_tag_name(name)
        r = self._repo(repo)
        target = r.resolve(ref).commit.id
        with r.lock_tag(name):
            existing = r.tag_target(name)
            if existing is None:
                point("tag:resolved")
                r.git.references.create(f"refs/tags/{name}", target)
                point("tag:created")
                return Ref(name, commit_id_of(target))
        if exist_ok and existing == target:
            return Ref(name, commit_id_of(target))
        raise AlreadyExistsError(
            f"tag {name!r} already exists in repository {repo!r} (at commit "
            f"{commit_id_of(existing)[:12]}); tags are immutable"
        )

    def list_tags(self, repo: str) -> list[Ref]:
        r = self._repo(repo)
        names = sorted(
            ref[len("refs/tags/") :] for ref in r.git.references if ref.startswith("refs/tags/")
        )
        return [Ref(name, commit_id_of(r.tag_target(name))) for name in names]

    def delete_tag(self, repo: str, name: str) -> None:
        check_tag_name(name)
        r = self._repo(repo)
        with r.lock_tag(name):
            if r.tag_target(name) is None:
                raise RefNotFoundError(f"tag {name!r} not found in repository {repo!r}")
            r.git.references.delete(f"refs/tags/{name}")

    # -- objects --------------------------------------------------------------------------
    def _pointer(
        self, r: LocalRepository, data: bytes | BinaryIO, content_type: str, metadata: dict
    ) -> Pointer:
        if not isinstance(data, (bytes, bytearray, memoryview)) and not hasattr(data, "read"):
            raise InvalidArgumentError(
                f"object data must be bytes or a binary file object, not {type(data).__name__}"
            )
        stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        first = stream.read(INLINE_MAX + 1)
        if not isinstance(first, (bytes, bytearray)):
            raise InvalidArgumentError("object data must be bytes or a binary file object")
        if len(first) <= INLINE_MAX:
            sha = hashlib.sha256(first).hexdigest()
            return Pointer(sha, len(first), content_type, metadata, bytes(first))
        sha, size = r.objects.ingest(bytes(first), stream)
        point("put:object")
        return Pointer(sha, size, content_type, metadata)

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
        check_path(path)
        check_branch_name(branch)
        meta = check_metadata(metadata)
        check_text("content_type", content_type)
        r = self._repo(repo)
        r.branch_commit(branch)
        pointer = self._pointer(r, data, content_type, meta)
        blob = r.git.create_blob(pointer.encode())
        point("put:blob")
        self._stage(r, branch, [(path, str(blob))])
        return self._stat(r, path, pointer, str(blob), datetime.now(UTC))

    def put_many(self, repo: str, branch: str, items: Iterable[tuple[str, bytes]]) -> int:
        """Stage many objects with one pack write and one staging transaction."""
        check_branch_name(branch)
        r = self._repo(repo)
        r.branch_commit(branch)
        paths: list[str] = []
        blobs: list[bytes] = []
        for path, data in items:
            paths.append(check_path(path))
            if type(data) is bytes and len(data) <= INLINE_MAX:
                blobs.append(inline_record(data))
            else:
                blobs.append(self._pointer(r, data, DEFAULT_CONTENT_TYPE, {}).encode())
        if not paths:
            return 0
        oids = write_blob_pack(Path(r.git.path), blobs)
        r.packs_written()
        self._stage(r, branch, zip(paths, oids, strict=True))
        return len(paths)

    def _stat(
        self, r: LocalRepository, path: str, pointer: Pointer, blob: str, mtime: datetime | None
    ) -> ObjectStat:
        address = (
            f"inline:{blob}" if pointer.inline is not None else str(r.objects.path(pointer.sha256))
        )
        return ObjectStat(
            path,
            pointer.sha256,
            pointer.size,
            pointer.content_type,
            dict(pointer.metadata),
            address,
            mtime,
        )

    def _find(
        self, r: LocalRepository, ref: str, path: str
    ) -> tuple[Pointer, str, datetime | None]:
        check_path(path)
        resolved = r.resolve(ref)
        blob, mtime = None, None
        if resolved.branch is not None and (row := r.staging.get(resolved.branch, path)):
            if row[1] is None:
                raise ObjectNotFoundError(
                    f"object {path!r} not found at ref {ref!r} in repository {r.name!r} "
                    "(deleted, uncommitted)"
                )
            blob, mtime = row[1], datetime.fromtimestamp(row[3], UTC)
        else:
            blob = lookup(resolved.commit.tree, path)
        if blob is None:
            raise ObjectNotFoundError(
                f"object {path!r} not found at ref {ref!r} in repository {r.name!r}"
            )
        return decode_pointer(r.git[pygit2.Oid(hex=blob)].data), blob, mtime

    def stat(self, repo: str, ref: str, path: str) -> ObjectStat:
        r = self._repo(repo)
        pointer, blob, mtime = self._find(r, ref, path)
        return self._stat(r, path, pointer, blob, mtime)

    def open_reader(self, repo: str, ref: str, path: str) -> BinaryIO:
        r = self._repo(repo)
        pointer, _, _ = self._find(r, ref, path)
        if pointer.inline is not None:
            return io.BytesIO(pointer.inline)
        try:
            return r.objects.path(pointer.sha256).open("rb")
        except FileNotFoundError:
            raise StoreError(
                f"object {path!r} in repository {repo!r}: its data file {pointer.sha256} is "
                "missing; run `fleetloop store fsck`"
            ) from None

    def local_path(self, repo: str, ref: str, path: str) -> Path | None:
        """The file holding a large object's bytes (read-only), or None for small objects."""
        r = self._repo(repo)
        pointer, _, _ = self._find(r, ref, path)
        return None if pointer.inline is not None else r.objects.path(pointer.sha256)

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
        check_prefix(prefix)
        check_text("after", after)
        check_text("delimiter", delimiter)
        r = self._repo(repo)
        resolved = r.resolve(ref)
        entries = r.keys.entries(r.git, resolved.commit.tree, prefix)
        mtimes: dict[str, float] = {}
        if resolved.branch is not None:
            staged = r.staging.rows(resolved.branch, prefix)
            if staged:
                merged = dict(entries)
                for path, blob, _, mtime in staged:
                    if blob is None:
                        merged.pop(path, None)
                    else:
                        merged[path] = blob
                        mtimes[path] = mtime
                entries = sorted(merged.items())
        return self._page(r, entries, prefix, delimiter, after, max_amount, mtimes)

    def _page(self, r, entries, prefix, delimiter, after, max_amount, mtimes):
        start = bisect.bisect_right(entries, (after, "\U0010ffff")) if after else 0
        emitted = 0
        last_prefix = None
        for key, blob in entries[start:]:
            if max_amount is not None and emitted >= max_amount:
                return
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    if common == last_prefix or (after and common <= after):
                        continue
                    last_prefix = common
                    emitted += 1
                    yield CommonPrefix(common)
                    continue
            pointer = decode_pointer(r.git[pygit2.Oid(hex=blob)].data)
            mtime = mtimes.get(key)
            emitted += 1
            yield self._stat(
                r, key, pointer, blob, datetime.fromtimestamp(mtime, UTC) if mtime else None
            )

    def delete(self, repo: str, branch: str, path: str) -> None:
        check_path(path)
        check_branch_name(branch)
        r = self._repo(repo)
        self._find(r, branch, path)
        self._stage(r, branch, [(path, None)])

    def _stage(self, r: LocalRepository, branch: str, rows) -> None:
        """Stage rows under the branch lock: a write lands before or after a commit, merge,
        revert or delete of the branch, never inside one (a merge checks that its destination
        is clean; a deleted branch must not keep rows). The bytes and blobs are written
        before, outside the lock: they are content-addressed and harmless if unused."""
        with r.lock(branch):
            r.branch_commit(branch)
            r.staging.stage(branch, rows)

    def uncommitted(self, repo: str, branch: str, prefix: str = "") -> list[Change]:
        check_branch_name(branch)
        check_prefix(prefix)
        r = self._repo(repo)
        tree = r.branch_commit(branch).tree
        changes = []
        for path, blob, _, _ in r.staging.rows(branch, prefix):
            current = lookup(tree, path)
            if current == blob:
                continue
            kind = (
                ChangeType.ADDED
                if current is None
                else ChangeType.REMOVED
                if blob is None
                else ChangeType.CHANGED
            )
            changes.append(Change(kind, path))
        return changes

    def reset(self, repo: str, branch: str, path: str | None = None) -> None:
        check_branch_name(branch)
        if path:
            check_prefix(path)
        r = self._repo(repo)
        r.branch_commit(branch)
        r.staging.clear(branch, path or None)

    # -- verification -------------------------------------------------------------------
    def fsck(self, repo: str, *, full: bool = False) -> FsckReport:
        """Verify a repository (see local/fsck.py): its report when it is sound, else a
        CorruptionError listing every problem (`.problems`, `.report`)."""
        report = check_repository(self._repo(repo), full=full)
        if report.problems:
            raise CorruptionError(
                f"repository {repo!r} failed fsck with {len(report.problems)} problem(s), the "
                f"first: {report.problems[0]}. Restore the damaged files from a backup, or move "
                "the affected branches to a sound commit",
                list(report.problems),
                report,
            )
        return report
