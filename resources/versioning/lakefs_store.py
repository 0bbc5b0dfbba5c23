"""`LakeFSStore`: the versioned store on a lakeFS server, through the maintained `lakefs` SDK.

The `lakefs` wrapper supplies the client (configured from `LAKECTL_*` variables or
`~/.lakectl.yaml`, never from code), the domain objects, paging and the object reader and writer.
A few calls go to its `sdk_client` directly: stat and delete, because the wrapper folds every 404
of an object call into "object not found" (a missing branch would read as a missing file), and
the repository, branch and tag listings, whose wrapper versions drop each entry's record. Names
are checked before any call; every failure leaves as a store exception (lakefs_errors.py).
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

import lakefs
from lakefs.exceptions import ConflictException, LakeFSException
from lakefs.reference import generate_listing

from resources.versioning.errors import (
    AlreadyExistsError,
    BackendError,
    DirtyBranchError,
    InvalidArgumentError,
    MergeConflictError,
    ObjectNotFoundError,
    RepositoryNotFoundError,
    StoreError,
)
from resources.versioning.lakefs_errors import (
    CONFIG_HINT,
    ObjectStream,
    changes,
    commit_record,
    listing_entry,
    object_stat,
    paged,
    repository_record,
    sdk_errors,
)
from resources.versioning.names import (
    check_branch_name,
    check_metadata,
    check_path,
    check_prefix,
    check_ref,
    check_repository_name,
    check_strategy,
    check_tag_name,
    check_text,
)
from resources.versioning.protocol import DEFAULT_CONTENT_TYPE, VersionedStore
from resources.versioning.records import (
    Change,
    Commit,
    CommonPrefix,
    MergeStrategy,
    ObjectStat,
    Ref,
    Repository,
)

NAMESPACE_ENV = "FLEETLOOP_LAKEFS_NAMESPACE"
CHUNK = 1024 * 1024  # bytes per read of a streamed object, in both directions
PAGE = 1000  # the largest page lakeFS serves


class LakeFSStore(VersionedStore):
    """The store on a lakeFS server. `client` is an already-built `lakefs.Client` (tests pass
    one; by default it comes from `LAKECTL_*` / `~/.lakectl.yaml`); new repositories live under
    `storage_namespace_root` (default `$FLEETLOOP_LAKEFS_NAMESPACE`, then the server's default
    prefix); `pre_sign` forces or forbids pre-signed transfers (default: ask the server once)."""

    def __init__(
        self,
        client: lakefs.Client | None = None,
        *,
        storage_namespace_root: str | None = None,
        pre_sign: bool | None = None,
    ):
        self._client = client if client is not None else _client_from_environment()
        self._namespace_root = storage_namespace_root or os.environ.get(NAMESPACE_ENV) or None
        self._pre_sign = pre_sign

    def __repr__(self) -> str:
        return f"LakeFSStore({self._client.config.host!r})"

    # Builders of wrapper objects; each checks its names first, so bad input never leaves.
    def _repo(self, name: str) -> lakefs.Repository:
        return lakefs.Repository(check_repository_name(name), client=self._client)

    def _branch(self, repo: str, name: str) -> lakefs.Branch:
        check_repository_name(repo)
        return lakefs.Branch(repo, check_branch_name(name), client=self._client)

    def _ref(self, repo: str, ref: str) -> lakefs.Reference:
        check_repository_name(repo)
        return lakefs.Reference(repo, check_ref(ref), client=self._client)

    def _presign(self) -> bool:
        if self._pre_sign is None:
            self._pre_sign = bool(self._client.storage_config.pre_sign_support)
        return self._pre_sign

    def _namespace(self, name: str) -> str:
        root = self._namespace_root
        if root is None:
            with sdk_errors(None, "the server's storage configuration"):
                root = self._client.storage_config.default_namespace_prefix
        if not root:
            raise InvalidArgumentError(
                f"no storage namespace for repository {name!r}: set {NAMESPACE_ENV} "
                "(e.g. s3://bucket/prefix or local://)"
            )
        return root + name if root.endswith("/") else f"{root}/{name}"

    # -- repositories ---------------------------------------------------------------------
    def create_repository(
        self, name: str, default_branch: str = "main", *, exist_ok: bool = False
    ) -> Repository:
        repo = self._repo(name)
        check_branch_name(default_branch)
        namespace = self._namespace(name)
        with sdk_errors(name, missing=RepositoryNotFoundError, conflict=AlreadyExistsError):
            repo.create(namespace, default_branch, exist_ok=exist_ok)
            return repository_record(repo.properties)

    def get_repository(self, name: str) -> Repository:
        repo = self._repo(name)
        with sdk_errors(name, missing=RepositoryNotFoundError):
            return repository_record(repo.properties)

    def list_repositories(self) -> list[Repository]:
        api = self._client.sdk_client.repositories_api
        with sdk_errors(None, "the repository listing"):
            return [
                repository_record(r) for r in generate_listing(api.list_repositories, amount=PAGE)
            ]

    def delete_repository(self, name: str) -> None:
        repo = self._repo(name)
        with sdk_errors(name, missing=RepositoryNotFoundError):
            repo.delete()

    # -- branches and tags ----------------------------------------------------------------
    def create_branch(self, repo: str, name: str, source: str, *, exist_ok: bool = False) -> Ref:
        branch = self._branch(repo, name)
        check_ref(source)
        with sdk_errors(
            repo, f"branch {name!r}", missing_subject=f"ref {source!r}", conflict=AlreadyExistsError
        ):
            branch.create(source, exist_ok=exist_ok)
            return Ref(name, branch.head.id)

    def get_branch(self, repo: str, name: str) -> Ref:
        branch = self._branch(repo, name)
        with sdk_errors(repo, f"branch {name!r}"):
            return Ref(name, branch.head.id)

    def list_branches(self, repo: str) -> list[Ref]:
        api = self._client.sdk_client.branches_api
        with sdk_errors(check_repository_name(repo), missing=RepositoryNotFoundError):
            return [
                Ref(b.id, b.commit_id)
                for b in generate_listing(api.list_branches, repo, amount=PAGE)
            ]

    def delete_branch(self, repo: str, name: str) -> None:
        branch = self._branch(repo, name)
        with sdk_errors(repo, f"branch {name!r}"):
            branch.delete()

    def create_tag(self, repo: str, name: str, ref: str, *, exist_ok: bool = False) -> Ref:
        check_repository_name(repo)
        tag = lakefs.Tag(repo, check_tag_name(name), client=self._client)
        target = self._ref(repo, ref)
        subject = f"tag {name!r}"
        with sdk_errors(repo, subject, missing_subject=f"ref {ref!r}", conflict=AlreadyExistsError):
            try:
                tag.create(ref)
            except ConflictException:
                # lakeFS's own exist_ok accepts any target; ours only the same one.
                existing = tag.get_commit().id
                if not exist_ok or existing != target.get_commit().id:
                    raise AlreadyExistsError(
                        f"{subject} already exists in repository {repo!r} (at commit "
                        f"{existing[:12]}); tags are immutable"
                    ) from None
            return Ref(name, tag.get_commit().id)

    def list_tags(self, repo: str) -> list[Ref]:
        api = self._client.sdk_client.tags_api
        with sdk_errors(check_repository_name(repo), missing=RepositoryNotFoundError):
            return [
                Ref(t.id, t.commit_id) for t in generate_listing(api.list_tags, repo, amount=PAGE)
            ]

    def delete_tag(self, repo: str, name: str) -> None:
        check_repository_name(repo)
        tag = lakefs.Tag(repo, check_tag_name(name), client=self._client)
        with sdk_errors(repo, f"tag {name!r}"):
            tag.delete()

    # -- objects --------------------------------------------------------------------------
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
        """Stage an object. A file object is copied in chunks into the wrapper's writer, which
        spools past 32 MiB to a temporary file and streams that body, so memory stays bounded."""
        target = self._branch(repo, branch)
        check_text("content_type", content_type)
        self._upload(target, check_path(path), data, content_type, check_metadata(metadata))
        return self.stat(repo, branch, path)

    def put_many(self, repo: str, branch: str, items: Iterable[tuple[str, bytes]]) -> int:
        """Stage many small objects, one upload each and no stat; every path is checked before
        the first upload, so a bad one leaves nothing staged."""
        target = self._branch(repo, branch)
        batch = [(check_path(path), data) for path, data in items]
        for path, data in batch:
            self._upload(target, path, data, DEFAULT_CONTENT_TYPE, {})
        return len(batch)

    def _upload(
        self, target: lakefs.Branch, path: str, data: Any, content_type: str, meta: dict[str, str]
    ) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)) and not hasattr(data, "read"):
            raise InvalidArgumentError("object data must be bytes or a binary file object")
        subject = f"object {path!r} on branch {target.id!r}"
        with sdk_errors(target.repo_id, subject, missing_subject=f"branch {target.id!r}"):
            writer = target.object(path).writer(
                "wb", self._presign(), content_type=content_type, metadata=meta
            )
            with writer:
                _copy(data, writer)

    def open_reader(self, repo: str, ref: str, path: str) -> BinaryIO:
        """A buffered reader doing ranged GETs of CHUNK bytes (one GET for a whole `read()`);
        the object is looked up first, so a missing one fails here and not at the first read."""
        self.stat(repo, ref, path)
        errors = functools.partial(
            sdk_errors, repo, f"object {path!r} at ref {ref!r}", missing=ObjectNotFoundError
        )
        with errors():
            reader = self._ref(repo, ref).object(path).reader("rb", pre_sign=self._presign())
        return io.BufferedReader(ObjectStream(reader, errors), CHUNK)

    def stat(self, repo: str, ref: str, path: str) -> ObjectStat:
        check_repository_name(repo)
        check_ref(ref)
        api = self._client.sdk_client.objects_api
        subject = f"object {check_path(path)!r} at ref {ref!r}"
        try:
            with sdk_errors(repo, subject, missing=ObjectNotFoundError):
                return object_stat(api.stat_object(repo, ref, path))
        except ObjectNotFoundError:
            self.get_commit(repo, ref)  # lakeFS says just "not found" for an unknown ref too
            raise

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
        reference = self._ref(repo, ref)
        check_prefix(prefix)
        if max_amount is not None and max_amount <= 0:
            return iter(())  # the wrapper's pager yields one item before it counts
        # Empty strings are sent as they are: an absent delimiter could mean a server default.
        listing = reference.objects(
            max_amount=max_amount,
            after=after,
            prefix=prefix,
            delimiter=delimiter,
            amount=min(max_amount or PAGE, PAGE),
        )
        return paged(listing, listing_entry, functools.partial(sdk_errors, repo, f"ref {ref!r}"))

    def delete(self, repo: str, branch: str, path: str) -> None:
        check_repository_name(repo)
        check_branch_name(branch)
        api = self._client.sdk_client.objects_api
        subject = f"object {check_path(path)!r} on branch {branch!r}"
        with sdk_errors(repo, subject, missing=ObjectNotFoundError):
            api.delete_object(repo, branch, path)

    def uncommitted(self, repo: str, branch: str, prefix: str = "") -> list[Change]:
        changed = self._branch(repo, branch).uncommitted(prefix=check_prefix(prefix), amount=PAGE)
        with sdk_errors(repo, f"branch {branch!r}"):
            return changes(changed)

    def reset(self, repo: str, branch: str, path: str | None = None) -> None:
        """Drop uncommitted changes: all, one object, or a prefix (a path ending in '/')."""
        target = self._branch(repo, branch)
        if not path:
            kind = "reset"
        elif path.endswith("/"):
            kind = "common_prefix"
            check_prefix(path)
        else:
            kind = "object"
            check_path(path)
        with sdk_errors(repo, f"branch {branch!r}"):
            target.reset_changes(kind, path)

    # -- commits --------------------------------------------------------------------------
    def commit(
        self,
        repo: str,
        branch: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        allow_empty: bool = False,
    ) -> Commit:
        target = self._branch(repo, branch)
        meta = check_metadata(metadata)
        with sdk_errors(repo, f"branch {branch!r}"):
            created = target.commit(message, metadata=meta, allow_empty=allow_empty)
            return commit_record(created.get_commit())

    def get_commit(self, repo: str, ref: str) -> Commit:
        reference = self._ref(repo, ref)
        with sdk_errors(repo, f"ref {ref!r}"):
            return commit_record(reference.get_commit())

    def log(self, repo: str, ref: str, *, max_amount: int | None = None) -> Iterator[Commit]:
        reference = self._ref(repo, ref)
        if max_amount is not None and max_amount <= 0:
            return iter(())
        listing = reference.log(max_amount=max_amount, amount=min(max_amount or PAGE, PAGE))
        return paged(listing, commit_record, functools.partial(sdk_errors, repo, f"ref {ref!r}"))

    def diff(
        self, repo: str, left: str, right: str, *, prefix: str = "", two_dot: bool = False
    ) -> list[Change]:
        """lakeFS's own diff: "two_dot" compares the trees, "three_dot" diffs from the merge
        base; a path changed on both sides (a "conflict") counts as changed."""
        reference = self._ref(repo, left)
        check_ref(right)
        kind = "two_dot" if two_dot else "three_dot"
        with sdk_errors(repo, f"ref {left!r} or {right!r}"):
            found = reference.diff(right, prefix=check_prefix(prefix), type=kind, amount=PAGE)
            return sorted(changes(found), key=lambda change: change.path)

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
        chosen = check_strategy(strategy)
        reference = self._ref(repo, source)
        meta = check_metadata(metadata)
        check_text("merge message", message, optional=True)
        self._refuse_dirty(repo, destination, "merging into it")
        try:
            with sdk_errors(
                repo,
                f"merge of {source!r} into {destination!r}",
                missing_subject=f"ref {source!r} or branch {destination!r}",
                conflict=MergeConflictError,
            ):
                merged = reference.merge_into(
                    destination,
                    message=message or f"Merge '{source}' into '{destination}'",
                    metadata=meta,
                    strategy=chosen.value if chosen else None,
                    allow_empty=True,  # the protocol always makes a merge commit
                )
                return commit_record(self._ref(repo, merged).get_commit())
        except MergeConflictError as exc:
            raise self._merge_conflict(repo, source, destination) from exc.__cause__

    def _merge_conflict(self, repo: str, source: str, destination: str) -> MergeConflictError:
        """lakeFS's 409 does not name the paths; its three-dot diff marks each one "conflict"."""
        try:
            with sdk_errors(repo, f"ref {source!r} or {destination!r}"):
                found = self._ref(repo, destination).diff(source, type="three_dot", amount=PAGE)
                paths = sorted(c.path for c in found if c.type == "conflict")
        except StoreError:
            paths = []
        named = (
            f"{len(paths)} path(s): {', '.join(paths)}" if paths else "paths lakeFS did not list"
        )
        return MergeConflictError(
            f"merging {source!r} into {destination!r} in repository {repo!r} conflicts at "
            f"{named}; pass strategy='source-wins' or 'dest-wins' to resolve",
            paths,
        )

    def revert(self, repo: str, branch: str, ref: str, *, parent_number: int = 0) -> Commit:
        """Revert `ref` on `branch`. lakeFS answers a revert with no commit, so the wrapper reads
        the branch head right after: a commit landing in between would be returned instead."""
        target = self._branch(repo, branch)
        check_ref(ref)
        if not isinstance(parent_number, int) or parent_number < 0:
            raise InvalidArgumentError(
                f"parent_number must be 0, or a parent's 1-based index; got {parent_number!r}"
            )
        self._refuse_dirty(repo, branch, "reverting")
        with sdk_errors(
            repo,
            f"revert of {ref!r} on branch {branch!r}",
            missing_subject=f"ref {ref!r} or branch {branch!r}",
            conflict=MergeConflictError,
        ):
            return commit_record(target.revert(ref, parent_number))

    def _refuse_dirty(self, repo: str, branch: str, doing: str) -> None:
        pending = self._branch(repo, branch).uncommitted(max_amount=1, amount=1)
        with sdk_errors(repo, f"branch {branch!r}"):
            dirty = next(iter(pending), None) is not None
        if dirty:
            raise DirtyBranchError(
                f"branch {branch!r} in repository {repo!r} has uncommitted changes; "
                f"commit or reset them before {doing}"
            )


def _client_from_environment() -> lakefs.Client:
    try:
        return lakefs.Client()
    except LakeFSException as exc:
        raise BackendError(f"no lakeFS server configured: {CONFIG_HINT}") from exc


def _copy(data: bytes | BinaryIO, writer: Any) -> None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        writer.write(data)
        return
    while chunk := data.read(CHUNK):
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError("object data must be bytes or a binary file object")
        writer.write(chunk)
