"""`LakeFSStore`: the versioned store on a lakeFS server, through the maintained `lakefs` SDK.

The `lakefs` wrapper supplies the client (configured from `LAKECTL_*` variables or
`~/.lakectl.yaml`, never from code), the domain objects, paging and the object reader and writer.
A few calls go to its `sdk_client` directly: stat and delete, because the wrapper folds every 404
of an object call into "object not found" (a missing branch would read as a missing file), commit
and branch creation, whose wrapper versions drop lakeFS's answer and ask again for it, the
repository, branch and tag listings, whose wrapper versions drop each entry's record, object
metadata that an HTTP header cannot carry, and reads, which stream one GET instead of one
request per chunk. Names are checked before any call; every failure leaves as a store exception
(lakefs_errors.py).

Where lakeFS answers differently from the protocol, the adapter makes up the difference: a
delete of a missing path (204 on lakeFS) is looked up first; a commit prefix lakeFS calls "not
found" is checked for ambiguity; a repository name freed moments ago is retried while lakeFS's
repository cache still holds it, and a storage namespace a deleted repository left behind gets
a fresh suffix; three-dot diff entries lakeFS marks "conflict" get the change the right side made.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import random
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import lakefs
import lakefs_sdk
from lakefs.exceptions import ConflictException, LakeFSException
from lakefs.reference import generate_listing

from resources.versioning.errors import (
    AlreadyExistsError,
    AmbiguousRefError,
    BackendError,
    ConflictError,
    DirtyBranchError,
    InvalidArgumentError,
    MergeConflictError,
    ObjectNotFoundError,
    RefNotFoundError,
    RepositoryNotFoundError,
    StoreError,
)
from resources.versioning.lakefs_errors import (
    CONFIG_HINT,
    RESERVED_METADATA_PREFIX,
    ObjectStream,
    changes,
    commit_record,
    listing_entry,
    object_stat,
    paged,
    repository_record,
    sdk_errors,
    status_and_message,
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
UPLOADERS = 8  # parallel uploads of put_many (the SDK's connection pool holds 5 per core)
NAME_REUSE_WAIT = 15.0  # s; lakeFS caches a repository record ~5-7 s after its deletion
CONTENTION_RETRIES = 5  # merges lost to concurrent writers (429, 503, locked), with backoff
AMBIGUITY_SCAN = 10_000  # commits looked at to tell an ambiguous prefix from a missing one
_HEX_PREFIX = re.compile(r"^[0-9a-f]{1,63}$")
# What an HTTP header carries unchanged: lakeFS lowercases `x-lakefs-meta-*` header names, and
# http.client refuses values outside latin-1 or with newlines; anything else goes as JSON.
_HEADER_KEY = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")
_HEADER_VALUE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")


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

    def web_endpoint(self) -> str | None:
        # The client's host is the API's address (`<endpoint>/api/v1`); the UI is at its root.
        host = self._client.config.host.rstrip("/")
        return host.removesuffix("/api/v1")

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
        """Create a repository at `<namespace root>/<name>`. A deleted repository leaves its
        objects in its namespace, which lakeFS then refuses to reuse, so a re-created name gets
        `<name>-<8 hex>`; its name stays taken while lakeFS's repository cache holds the old
        record (a few seconds), so that is waited out."""
        check_repository_name(name)
        check_branch_name(default_branch)
        namespace = self._namespace(name)
        api = self._client.sdk_client.repositories_api
        where = namespace
        deadline = time.monotonic() + NAME_REUSE_WAIT
        while True:
            creation = lakefs_sdk.RepositoryCreation(
                name=name, storage_namespace=where, default_branch=default_branch
            )
            with sdk_errors(name, missing=RepositoryNotFoundError):
                try:
                    return repository_record(api.create_repository(creation))
                except lakefs_sdk.ApiException as exc:
                    status, message = status_and_message(exc)
                    if status == 400 and "already in use" in message:
                        where = f"{namespace}-{uuid.uuid4().hex[:8]}"
                        continue
                    if status != 409:
                        raise
            if self._listed(name):
                if exist_ok:
                    return self.get_repository(name)
                raise AlreadyExistsError(f"repository {name!r} already exists")
            if time.monotonic() > deadline:
                raise AlreadyExistsError(
                    f"repository {name!r} was deleted moments ago and lakeFS still holds its "
                    "name; retry in a few seconds"
                )
            time.sleep(0.25)

    def _listed(self, name: str) -> bool:
        """Whether the repository is in lakeFS's listing, which reads its KV store directly
        (a lookup by name may answer from a cache that still holds a deleted one)."""
        api = self._client.sdk_client.repositories_api
        with sdk_errors(None, "the repository listing"):
            found = api.list_repositories(prefix=name, amount=1).results
        return any(r.id == name for r in found)

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
        """lakeFS answers a branch creation with the new branch's commit id, so one request
        does; an existing branch accepted by exist_ok is looked up."""
        branch = self._branch(repo, name)
        check_ref(source)
        api = self._client.sdk_client.branches_api
        with (
            self._ambiguity_told(repo, source),
            sdk_errors(
                repo,
                f"branch {name!r}",
                missing_subject=f"ref {source!r}",
                conflict=AlreadyExistsError,
            ),
        ):
            creation = lakefs_sdk.BranchCreation(name=name, source=source)
            try:
                return Ref(name, api.create_branch(repo, creation))
            except lakefs_sdk.ApiException as exc:
                if not exist_ok or exc.status != 409:
                    raise
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
        with (
            self._ambiguity_told(repo, ref),
            sdk_errors(repo, subject, missing_subject=f"ref {ref!r}", conflict=AlreadyExistsError),
        ):
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
        """Stage many small objects, UPLOADERS at a time and no stat; every path is checked
        before the first upload, so a bad one leaves nothing staged."""
        target = self._branch(repo, branch)
        batch = [(check_path(path), data) for path, data in items]
        self._presign()  # asked once here, not by every uploader
        with ThreadPoolExecutor(UPLOADERS) as pool:
            uploads = [
                pool.submit(self._upload, target, path, data, DEFAULT_CONTENT_TYPE, {})
                for path, data in batch
            ]
            for upload in uploads:
                upload.result()
        return len(batch)

    def _upload(
        self, target: lakefs.Branch, path: str, data: Any, content_type: str, meta: dict[str, str]
    ) -> None:
        """Upload through the wrapper's writer. Metadata rides along (as JSON when pre-signed,
        as `x-lakefs-meta-*` headers otherwise) unless a header would change it: then it is set
        right after the upload with lakeFS's metadata update call, which takes JSON."""
        if not isinstance(data, (bytes, bytearray, memoryview)) and not hasattr(data, "read"):
            raise InvalidArgumentError("object data must be bytes or a binary file object")
        pre_sign = self._presign()
        in_headers = pre_sign or all(
            _HEADER_KEY.match(k) and _HEADER_VALUE.match(v) for k, v in meta.items()
        )
        subject = f"object {path!r} on branch {target.id!r}"
        with sdk_errors(target.repo_id, subject, missing_subject=f"branch {target.id!r}"):
            writer = target.object(path).writer(
                "wb", pre_sign, content_type=content_type, metadata=meta if in_headers else {}
            )
            with writer:
                _copy(data, writer)
        if not in_headers:
            self._set_metadata(target, path, meta)

    def _set_metadata(self, target: lakefs.Branch, path: str, meta: dict[str, str]) -> None:
        api = self._client.sdk_client.objects_api
        update = lakefs_sdk.UpdateObjectUserMetadata(set=meta)
        subject = f"the metadata of object {path!r} on branch {target.id!r}"
        try:
            with sdk_errors(target.repo_id, subject, missing=ObjectNotFoundError):
                api.update_object_user_metadata(target.repo_id, target.id, path, update)
        except StoreError:
            # Take the upload back rather than leave the object staged without its metadata.
            with contextlib.suppress(StoreError), sdk_errors(target.repo_id, subject):
                target.reset_changes("object", path)
            raise

    def open_reader(self, repo: str, ref: str, path: str) -> BinaryIO:
        """A seekable reader: one streamed GET for a sequential read, a ranged GET after each
        seek, buffered CHUNK bytes at a time. The object is looked up first, so a missing one
        fails here and not at the first read."""
        size = self.stat(repo, ref, path).size
        errors = functools.partial(
            sdk_errors, repo, f"object {path!r} at ref {ref!r}", missing=ObjectNotFoundError
        )
        opener = functools.partial(self._open_at, repo, ref, path, self._presign())
        return io.BufferedReader(ObjectStream(opener, size, errors), CHUNK)

    def _open_at(self, repo: str, ref: str, path: str, pre_sign: bool, position: int) -> Any:
        """A streaming GET of the object from `position` on. The SDK's own get_object reads
        the whole body before it returns, so the request is made the way the wrapper makes its
        raw uploads: the SDK's URL, auth headers and connection pool."""
        api_client = self._client.sdk_client.objects_api.api_client
        resource = urllib.parse.quote(f"/repositories/{repo}/refs/{ref}/objects", encoding="utf-8")
        query = urllib.parse.urlencode({"path": path, "presign": str(pre_sign).lower()})
        headers = {"Accept": "application/octet-stream"}
        if position:
            headers["Range"] = f"bytes={position}-"
        api_client.update_params_for_auth(headers, None, _AUTH, resource, "GET", None)
        response = api_client.rest_client.pool_manager.request(
            "GET",
            f"{self._client.config.host}{resource}?{query}",
            headers=headers,
            preload_content=False,
        )
        if not 200 <= response.status <= 299:
            failure = lakefs_sdk.ApiException(status=response.status, reason=response.reason)
            failure.body = response.data
            response.release_conn()
            raise failure
        return response

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
        self.stat(repo, branch, path)  # lakeFS answers 204 for a path that is not there too
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
        check_repository_name(repo)
        check_branch_name(branch)
        meta = _commit_metadata(metadata)
        api = self._client.sdk_client.commits_api
        with sdk_errors(repo, f"branch {branch!r}"):
            creation = lakefs_sdk.CommitCreation(
                message=message, metadata=meta, allow_empty=allow_empty
            )
            return commit_record(api.commit(repo, branch, creation))

    def get_commit(self, repo: str, ref: str) -> Commit:
        reference = self._ref(repo, ref)
        with self._ambiguity_told(repo, ref), sdk_errors(repo, f"ref {ref!r}"):
            return commit_record(reference.get_commit())

    @contextlib.contextmanager
    def _ambiguity_told(self, repo: str, ref: str) -> Iterator[None]:
        try:
            yield
        except RefNotFoundError:
            self._refuse_ambiguous(repo, ref)
            raise

    def _refuse_ambiguous(self, repo: str, ref: str) -> None:
        """lakeFS answers "not found" for a commit id prefix that matches several commits; this
        looks for two among the commits reachable from the branches and tags (up to
        AMBIGUITY_SCAN), which is where the ids a user copies come from."""
        if not _HEX_PREFIX.match(ref):
            return
        seen: set[str] = set()
        walked = 0
        with sdk_errors(repo, f"ref {ref!r}"):
            heads = [r.commit_id for r in self.list_branches(repo) + self.list_tags(repo)]
            for start in dict.fromkeys(heads):
                for commit in self._ref(repo, start).log(amount=PAGE):
                    seen.add(commit.id)
                    walked += 1
                    if walked > AMBIGUITY_SCAN:
                        return
        matches = sorted(c for c in seen if c.startswith(ref))
        if len(matches) > 1:
            raise AmbiguousRefError(
                f"commit id prefix {ref!r} is ambiguous in repository {repo!r}: it matches "
                f"{', '.join(m[:12] for m in matches[:3])}{'…' if len(matches) > 3 else ''}; "
                "give more characters"
            )

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
        base, leaving out what both sides changed alike, as the protocol does. lakeFS types a
        path both sides changed differently "conflict"; such a path gets the change `right`
        made since the merge base (a removal stays a removal)."""
        reference = self._ref(repo, left)
        check_ref(right)
        check_prefix(prefix)
        kind = "two_dot" if two_dot else "three_dot"
        with sdk_errors(repo, f"ref {left!r} or {right!r}"):
            found = list(reference.diff(right, prefix=prefix, type=kind, amount=PAGE))
            conflicts = {c.path for c in found if c.type == "conflict"}
            if conflicts:
                base = self._merge_base(repo, right, left)
                on_right = self._ref(repo, base).diff(
                    right, prefix=prefix, type="two_dot", amount=PAGE
                )
                found = [c for c in found if c.path not in conflicts] + [
                    c for c in on_right if c.path in conflicts
                ]
            return sorted(changes(iter(found)), key=lambda change: change.path)

    def _merge_base(self, repo: str, source: str, destination: str) -> str:
        api = self._client.sdk_client.refs_api
        return api.find_merge_base(repo, source, destination).base_commit_id

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
        meta = _commit_metadata(metadata)
        check_text("merge message", message, optional=True)
        self._refuse_dirty(repo, destination, "merging into it")
        attempt = 0
        while True:
            try:
                return self._merge_once(repo, reference, destination, message, meta, chosen)
            except MergeConflictError:
                raise
            except ConflictError:
                if attempt == CONTENTION_RETRIES:
                    raise
            time.sleep(0.05 * 2**attempt * (1 + random.random()))  # jittered backoff
            attempt += 1

    def _merge_once(
        self,
        repo: str,
        reference: lakefs.Reference,
        destination: str,
        message: str | None,
        meta: dict[str, str],
        chosen: MergeStrategy | None,
    ) -> Commit:
        source = reference.id
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


_AUTH = ["basic_auth", "cookie_auth", "oidc_auth", "saml_auth", "jwt_token"]


def _commit_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    meta = check_metadata(metadata)
    reserved = sorted(k for k in meta if k.startswith(RESERVED_METADATA_PREFIX))
    if reserved:
        raise InvalidArgumentError(
            f"commit metadata keys starting with {RESERVED_METADATA_PREFIX!r} are lakeFS's own: "
            f"rename {', '.join(map(repr, reserved))}"
        )
    return meta


def client_from_lakectl_file(path: os.PathLike | str) -> lakefs.Client:
    """A client from a lakectl config file (lakectl's own YAML: server.endpoint_url and
    credentials), such as the one `make lakefs` writes."""
    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
        endpoint = config["server"]["endpoint_url"]
        keys = config["credentials"]
        key_id, secret = keys["access_key_id"], keys["secret_access_key"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise BackendError(f"cannot read the lakectl config {str(path)!r}: {exc}") from exc
    return lakefs.Client(host=endpoint, username=key_id, password=secret)


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
