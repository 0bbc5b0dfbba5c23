"""Objects on a lakeFS branch for `LakeFSStore`: uploads (one, or many in parallel), streamed
seekable reads, stats, listings, deletes and staging. A mixin: `LakeFSStore` supplies the
client, the name-checked builders (`_branch`, `_ref`) and `_presign`."""

from __future__ import annotations

import contextlib
import functools
import io
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

import lakefs
import lakefs_sdk

from resources.versioning.errors import (
    InvalidArgumentError,
    ObjectNotFoundError,
    StoreError,
)
from resources.versioning.lakefs_errors import (
    ObjectStream,
    changes,
    listing_entry,
    object_stat,
    paged,
    sdk_errors,
)
from resources.versioning.names import (
    check_branch_name,
    check_metadata,
    check_path,
    check_prefix,
    check_ref,
    check_repository_name,
    check_text,
)
from resources.versioning.protocol import DEFAULT_CONTENT_TYPE
from resources.versioning.records import (
    Change,
    CommonPrefix,
    ObjectStat,
)

CHUNK = 1024 * 1024  # bytes per read of a streamed object, in both directions
PAGE = 1000  # the largest page lakeFS serves
UPLOADERS = 8  # parallel uploads of put_many (the SDK's connection pool holds 5 per core)
# What an HTTP header carries unchanged: lakeFS lowercases `x-lakefs-meta-*` header names, and
# http.client refuses values outside latin-1 or with newlines; anything else goes as JSON.
_HEADER_KEY = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")
_HEADER_VALUE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")
_AUTH = ["basic_auth", "cookie_auth", "oidc_auth", "saml_auth", "jwt_token"]


class LakeFSObjects:
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
        meta = check_metadata(metadata)
        staged = self._upload(target, check_path(path), data, content_type, meta)
        return staged if staged is not None else self.stat(repo, branch, path)

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
    ) -> ObjectStat | None:
        """Upload through the wrapper's writer. Metadata rides along (as JSON when pre-signed,
        as `x-lakefs-meta-*` headers otherwise) unless a header would change it: then it is set
        right after the upload with lakeFS's metadata update call, which takes JSON.
        Returns the staged object's stat as the upload answered it, when that is the whole
        truth (None when metadata was set afterwards)."""
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
            return None
        # The upload's answer is the object's stat; the wrapper (lakefs 0.16) keeps it only
        # here, and reading it saves put() a second round trip per object.
        answered = getattr(writer, "_obj_stats", None)
        return object_stat(answered) if answered is not None else None

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


def _copy(data: bytes | BinaryIO, writer: Any) -> None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        writer.write(data)
        return
    while chunk := data.read(CHUNK):
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError("object data must be bytes or a binary file object")
        writer.write(chunk)
