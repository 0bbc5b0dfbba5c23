"""`fsck` of one embedded repository: is everything a ref can reach there, whole and consistent?

It checks that every branch and tag points at a commit; that every commit, trie tree and
pointer record reachable from them reads back and hashes to its id (reads skip that check, see
repository.py); that the trees have the trie's shape, each key in the bucket its hash names;
that every large object's file exists with its size (and, with `full`, its sha256); that the
commit-id index agrees with git; and that the staging database is sound and its rows point at
objects that exist. Leftovers of killed processes (temp files, packs without an index, libgit2
ref locks) are harmless and reported as warnings.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pygit2

from resources.versioning.local import midx
from resources.versioning.local.pointers import (
    DIR_PREFIX,
    ROOT_FILES,
    TRIE_DEPTH,
    decode_pointer,
    key_of,
    trie_of,
)
from resources.versioning.local.repository import LocalRepository, commit_id_of
from resources.versioning.names import check_branch_name, check_tag_name

_ENTRY = re.compile(rb"((\d+) ([^\x00]*)\x00.{20})", re.DOTALL)
_KINDS = {
    pygit2.enums.ObjectType.COMMIT: b"commit",
    pygit2.enums.ObjectType.TREE: b"tree",
    pygit2.enums.ObjectType.BLOB: b"blob",
}
_TREE, _BLOB = b"40000", b"100644"


@dataclass(frozen=True)
class FsckReport:
    """What fsck looked at in one repository, and what it found."""

    repository: str
    full: bool  # large objects' bytes were hashed too
    refs: int
    commits: int
    trees: int
    objects: int  # pointer records (committed or staged)
    object_files: int  # large-object files checked
    staged: int  # staged rows checked
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class _Checker:
    def __init__(self, repo: LocalRepository, full: bool):
        self.repo, self.git, self.full = repo, repo.git, full
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.commits: set[bytes] = set()
        self.trees: set[bytes] = set()
        self.blobs: set[bytes] = set()
        self.files: set[str] = set()
        self.refs = 0
        self.staged = 0

    # -- objects ------------------------------------------------------------------------------
    def read(self, oid: bytes, kind: pygit2.enums.ObjectType, what: str) -> bytes | None:
        """An object's bytes if it exists, has the expected type and hashes to its id."""
        try:
            found, data = self.git.odb.read(pygit2.Oid(raw=oid))
        except KeyError:
            self.problems.append(f"{what}: object {oid.hex()} is missing")
            return None
        except (ValueError, pygit2.GitError) as error:
            self.problems.append(f"{what}: object {oid.hex()} is unreadable ({error})")
            return None
        if found != kind:
            self.problems.append(f"{what}: object {oid.hex()} is a {found.name.lower()}")
            return None
        header = b"%s %d\x00" % (_KINDS[kind], len(data))
        if hashlib.sha1(header + data).digest() != oid:
            self.problems.append(f"{what}: object {oid.hex()} does not match its id (corrupt)")
            return None
        return data

    def pointer(self, oid: bytes, what: str) -> None:
        if oid in self.blobs:
            return
        self.blobs.add(oid)
        data = self.read(oid, pygit2.enums.ObjectType.BLOB, what)
        if data is None:
            return
        try:
            pointer = decode_pointer(data)
        except (ValueError, KeyError, TypeError) as error:
            self.problems.append(f"{what}: pointer record {oid.hex()} does not decode ({error})")
            return
        if pointer.inline is not None:
            if len(pointer.inline) != pointer.size:
                self.problems.append(f"{what}: inline content is not {pointer.size} bytes")
            elif self.full and hashlib.sha256(pointer.inline).hexdigest() != pointer.sha256:
                self.problems.append(f"{what}: inline content does not match its sha256")
            return
        if pointer.sha256 in self.files:
            return
        self.files.add(pointer.sha256)
        problem = self.repo.objects.verify(pointer.sha256, pointer.size, full=self.full)
        if problem is not None:
            self.problems.append(f"{what}: {problem}")

    # -- refs and history ---------------------------------------------------------------------
    def heads(self) -> list[tuple[str, bytes]]:
        found = []
        try:
            names = list(self.git.references)
        except pygit2.GitError as error:
            self.problems.append(f"the refs cannot be listed ({error})")
            return found
        for name in names:
            self.refs += 1
            kind, _, short = name.removeprefix("refs/").partition("/")
            check = {"heads": check_branch_name, "tags": check_tag_name}.get(kind)
            try:
                if check is None:
                    raise ValueError("not a branch or a tag")
                check(short)
                target = self.git.references[name].target
            except (KeyError, ValueError, pygit2.GitError) as error:
                self.problems.append(f"ref {name!r} is not valid ({error})")
                continue
            found.append((name, target.raw))
        if f"refs/heads/{self.repo.default_branch}" not in names:
            self.problems.append(f"the default branch {self.repo.default_branch!r} is missing")
        return found

    def history(self, heads: list[tuple[str, bytes]], index: dict[str, str] | None) -> None:
        stack = [(oid, f"ref {name!r}") for name, oid in heads]
        while stack:
            oid, via = stack.pop()
            if oid in self.commits:
                continue
            self.commits.add(oid)
            what = f"commit {oid.hex()} (reachable from {via})"
            if self.read(oid, pygit2.enums.ObjectType.COMMIT, what) is None:
                continue
            commit = self.git[pygit2.Oid(raw=oid)]
            try:
                self.repo.record(commit)
            except (ValueError, json.JSONDecodeError) as error:
                self.problems.append(f"{what}: its metadata does not decode ({error})")
            if index is not None:
                commit_id = commit_id_of(commit.id)
                if index.get(commit_id) != str(commit.id):
                    self.problems.append(
                        f"{what}: the commit-id index does not map {commit_id[:12]} to it"
                    )
            if commit.tree_id.raw not in self.trees:
                self.tree(commit.tree_id.raw, 0, (), what)
            stack.extend((parent.raw, via) for parent in commit.parent_ids)

    def tree(self, oid: bytes, depth: int, names: tuple[str, ...], what: str) -> None:
        """Walk a trie tree: depth 0 the root, 1 a top entry, 2..TRIE_DEPTH+1 digit levels."""
        self.trees.add(oid)
        data = self.read(oid, pygit2.enums.ObjectType.TREE, f"{what}, tree /{'/'.join(names)}")
        if data is None:
            return
        if depth == TRIE_DEPTH + 1:
            self.leaves(data, names, what)
            return
        for entry, mode, name in _ENTRY.findall(data):
            valid = (
                name == ROOT_FILES.encode() or name.startswith(DIR_PREFIX.encode())
                if depth == 0
                else len(name) == 1 and name in b"0123456789abcdef"
            )
            if mode != _TREE or not valid:
                path = "/".join((*names, name.decode(errors="replace")))
                self.problems.append(f"{what}, /{path}: unexpected entry in the trie")
            elif entry[-20:] not in self.trees:
                self.tree(entry[-20:], depth + 1, (*names, name.decode()), what)

    def leaves(self, data: bytes, names: tuple[str, ...], what: str) -> None:
        """The objects of one trie bucket: each must be a pointer record filed under the
        bucket its key hashes to."""
        bucket = names[1:]
        for entry, mode, name in _ENTRY.findall(data):
            key = key_of(names[0], name.decode(errors="replace"))
            if mode != _BLOB:
                self.problems.append(f"{what}, object {key!r}: not a blob (mode {mode!r})")
            elif trie_of(key) != bucket:
                path = "/".join((*names, name.decode(errors="replace")))
                self.problems.append(f"{what}, /{path}: key {key!r} is in the wrong trie bucket")
            elif entry[-20:] not in self.blobs:
                self.pointer(entry[-20:], f"{what}, object {key!r}")

    # -- the SQLite side ------------------------------------------------------------------------
    def database(self) -> dict[str, str] | None:
        """The commit-id index, once the staging database passed SQLite's own check."""
        try:
            db = self.repo.staging._db()
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                self.problems.append(f"the staging database is damaged: {verdict}")
                return None
            rows = db.execute("SELECT id, oid FROM commit_ids").fetchall()
        except sqlite3.DatabaseError as error:
            self.problems.append(f"the staging database cannot be read ({error})")
            return None
        index = {}
        for commit_id, oid in rows:
            try:
                derived = commit_id_of(pygit2.Oid(hex=oid))
            except ValueError:
                derived = None
            if derived != commit_id:
                self.problems.append(f"commit-id index row {commit_id[:12]} names {oid!r}")
            index[commit_id] = oid
        return index

    def staging(self) -> None:
        try:
            rows = self.repo.staging._db().execute("SELECT branch, path, blob FROM staged")
            rows = rows.fetchall()
        except sqlite3.DatabaseError as error:
            self.problems.append(f"the staging area cannot be read ({error})")
            return
        orphans: dict[str, int] = {}
        for branch, path, blob in rows:
            self.staged += 1
            if not self.repo.has_branch(branch):
                orphans[branch] = orphans.get(branch, 0) + 1
                continue
            what = f"staged object {path!r} on {branch!r}"
            if blob is None:
                continue
            try:
                oid = bytes.fromhex(blob)
            except (TypeError, ValueError):
                self.problems.append(f"{what}: {blob!r} is not an object id")
                continue
            self.pointer(oid, what)
        try:
            for branch in self.repo.staging.intent_branches():
                self.warnings.append(
                    f"a commit on {branch!r} was interrupted before settling its staged rows "
                    "(settled when the branch is next locked)"
                )
        except sqlite3.DatabaseError as error:
            self.problems.append(f"the staging area's intents cannot be read ({error})")
        for branch, count in sorted(orphans.items()):
            self.warnings.append(
                f"{count} staged row(s) of deleted branch {branch!r} (cleared if it is created)"
            )

    def leftovers(self) -> None:
        root = self.repo.path
        git = Path(self.git.path)
        if (problem := midx.verify(git)) is not None:
            self.problems.append(problem)
        temps = list((root / "objects" / "tmp").glob("*")) + list(git.rglob("*.tmp"))
        if temps:
            self.warnings.append(f"{len(temps)} temp file(s) of interrupted writes")
        for pack in (git / "objects" / "pack").glob("*.pack"):
            if not pack.with_suffix(".idx").exists():
                self.warnings.append(f"pack {pack.name} has no index (an interrupted write)")
        for lock in (git / "refs").rglob("*.lock"):
            self.warnings.append(f"stale ref lock {lock.relative_to(git)} (cleared on next write)")


def check_repository(repo: LocalRepository, *, full: bool = False) -> FsckReport:
    checker = _Checker(repo, full)
    index = checker.database()
    checker.history(checker.heads(), index)
    if index is not None:
        checker.staging()
    checker.leftovers()
    return FsckReport(
        repository=repo.name,
        full=full,
        refs=checker.refs,
        commits=len(checker.commits),
        trees=len(checker.trees),
        objects=len(checker.blobs),
        object_files=len(checker.files),
        staged=checker.staged,
        problems=tuple(checker.problems),
        warnings=tuple(checker.warnings),
    )
