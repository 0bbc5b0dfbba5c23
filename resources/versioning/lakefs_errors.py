"""Translation at the lakeFS boundary: SDK failures into store exceptions, SDK models into records.

Failures: lakeFS answers a failed call with an HTTP status and a JSON body `{"message": ...}`.
The `lakefs` wrapper re-raises most SDK errors as its own `ServerException` subclasses (body
decoded), while a few of its calls let the SDK's `ApiException` through untouched, so both are
read here. The status decides the family; lakeFS's message picks the exact kind where one status
covers several (a 400 is an empty commit, a dirty branch or a bad name; a 404 names the missing
thing). Listings and object reads fail lazily, as the caller iterates or reads, so `paged` and
`ObjectStream` keep the translation around those later calls too.

Contention is told apart from refusal: lakeFS answers 429 when a branch update lost its retries
to other writers, 503 when its KV store throttles and 500 "branch is currently locked", all
safe to retry; 412 is a failed pre-commit or pre-merge hook, which retrying cannot fix.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import lakefs
import lakefs_sdk
import urllib3
from lakefs.exceptions import LakeFSException, NoAuthenticationFound, ServerException

try:
    from pydantic.v1 import ValidationError
except ImportError:  # pydantic 1, which the SDK falls back to in the same way
    from pydantic import ValidationError  # type: ignore[assignment]

from resources.versioning.errors import (
    AlreadyExistsError,
    AmbiguousRefError,
    BackendError,
    ConflictError,
    DirtyBranchError,
    EmptyCommitError,
    InvalidArgumentError,
    InvalidNameError,
    MergeConflictError,
    NotFoundError,
    ObjectNotFoundError,
    RefNotFoundError,
    RepositoryNotFoundError,
    StoreError,
)
from resources.versioning.protocol import DEFAULT_CONTENT_TYPE
from resources.versioning.records import (
    Change,
    ChangeType,
    Commit,
    CommonPrefix,
    ObjectStat,
    Repository,
)

CONFIG_HINT = (
    "set LAKECTL_SERVER_ENDPOINT_URL, LAKECTL_CREDENTIALS_ACCESS_KEY_ID and "
    "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY, or write ~/.lakectl.yaml"
)
_SDK_ERRORS = (
    LakeFSException,
    lakefs_sdk.ApiException,
    urllib3.exceptions.HTTPError,
    ValidationError,
)
_REF_WORDS = ("branch", "tag", "commit", "reference")
_CHANGES = {
    "added": ChangeType.ADDED,
    "removed": ChangeType.REMOVED,
    "changed": ChangeType.CHANGED,
    "conflict": ChangeType.CHANGED,  # three-dot only: changed on both sides, so changed on right
}


@contextlib.contextmanager
def sdk_errors(
    repo: str | None,
    subject: str | None = None,
    *,
    missing: type[NotFoundError] = RefNotFoundError,
    missing_subject: str | None = None,
    conflict: type[ConflictError | AlreadyExistsError] = ConflictError,
) -> Iterator[None]:
    """Run SDK calls, re-raising their failures as StoreError. `subject` names what the call acts
    on ("branch 'x'"; None for the repository itself), `missing` is the not-found kind for a 404
    whose message does not say what was missing, `missing_subject` names it when that is not the
    subject (a branch's source ref), and `conflict` is what a 409 means for this call."""
    try:
        yield
    except StoreError:
        raise
    except _SDK_ERRORS as exc:
        raise translate(exc, repo, subject, missing, missing_subject, conflict) from exc


def status_and_message(exc: BaseException) -> tuple[int | None, str]:
    """The HTTP status (None when no answer came back) and lakeFS's own message of a failure."""
    if isinstance(exc, ServerException):
        body = exc.body if isinstance(exc.body, dict) else {}
        if not body.get("message") and isinstance(exc.__cause__, lakefs_sdk.ApiException):
            return status_and_message(exc.__cause__)  # a body that was not JSON: keep its text
        return exc.status_code, str(body.get("message") or exc.reason or "")
    if isinstance(exc, lakefs_sdk.ApiException):
        return exc.status, _body_message(exc.body) or str(exc.reason or "")
    return None, str(exc) or type(exc).__name__


def _body_message(body: bytes | str | None) -> str:
    if not body:
        return ""
    try:
        decoded = json.loads(body)
    except (TypeError, ValueError):
        return body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    return str(decoded.get("message", "")) if isinstance(decoded, dict) else str(decoded)


def translate(
    exc: BaseException,
    repo: str | None,
    subject: str | None,
    missing: type[NotFoundError],
    missing_subject: str | None,
    conflict: type[ConflictError | AlreadyExistsError],
) -> StoreError:
    status, message = status_and_message(exc)
    text = message.lower()
    where = _where(repo, subject)
    if isinstance(exc, ValidationError):
        return InvalidArgumentError(f"the lakeFS SDK refused the arguments for {where}: {message}")
    if isinstance(exc, NoAuthenticationFound):
        return BackendError(f"no lakeFS credentials found: {CONFIG_HINT}")
    if status is None or status == 0:
        return BackendError(f"cannot reach the lakeFS server for {where}: {message}")
    if status == 404 and repo is not None:
        return _not_found(text, message, repo, subject, missing, missing_subject)
    # lakeFS reuses statuses across causes, so these messages are read before the status is.
    if "no changes" in text:
        return EmptyCommitError(
            f"nothing to commit on {where} (pass allow_empty=True to commit anyway)"
        )
    if "dirty branch" in text or "uncommitted changes" in text:
        return DirtyBranchError(f"{where} has uncommitted changes; commit or reset them first")
    if "parent number" in text or "parent out of range" in text or "default branch" in text:
        return InvalidArgumentError(f"lakeFS refused the request on {where}: {message}")
    if "storage namespace" in text:
        return InvalidArgumentError(
            f"lakeFS refused the storage namespace of {where}: {message} (the namespace is "
            "$FLEETLOOP_LAKEFS_NAMESPACE/<repository>)"
        )
    if status == 409:
        return _conflict(conflict, where, message)
    if status in (429, 503) or (status == 500 and "locked" in text):
        return ConflictError(
            f"{where} lost against concurrent writers ({message}); retrying is safe"
        )
    if status == 412:
        return BackendError(
            f"a lakeFS hook refused {where}: {message} (see the action's run in lakeFS; "
            "retrying will not help until the hook passes)"
        )
    if status == 400 and ("invalid" in text or "validation" in text):
        return InvalidNameError(f"lakeFS rejected a name or path for {where}: {message}")
    if status == 401:
        return BackendError(f"lakeFS refused the credentials ({message}): {CONFIG_HINT}")
    if status == 403:
        return BackendError(f"lakeFS forbids this on {where}: {message}")
    return BackendError(f"lakeFS failed on {where}: HTTP {status} {message}".rstrip())


def _where(repo: str | None, subject: str | None) -> str:
    if repo is None:
        return subject or "the lakeFS server"
    return f"{subject} in repository {repo!r}" if subject else f"repository {repo!r}"


def _not_found(text, message, repo, subject, missing, missing_subject) -> StoreError:
    thing = missing_subject or subject
    if "ambiguous" in text:  # lakeFS says plain "not found"; LakeFSStore tells ambiguity apart
        return AmbiguousRefError(
            f"{_where(repo, thing)} is ambiguous ({message}); give more characters of the commit id"
        )
    if "repository not found" in text or missing is RepositoryNotFoundError or thing is None:
        return RepositoryNotFoundError(
            f"repository {repo!r} not found on the lakeFS server (create it with create_repository)"
        )
    kind = missing
    if missing is ObjectNotFoundError and any(word in text for word in _REF_WORDS):
        kind = RefNotFoundError  # the object's branch, tag or commit is what is missing
    detail = f" ({message})" if message else ""
    return kind(f"{thing} not found in repository {repo!r}{detail}")


def _conflict(conflict, where: str, message: str) -> StoreError:
    if conflict is AlreadyExistsError:
        return AlreadyExistsError(f"{where} already exists")
    if conflict is MergeConflictError:
        return MergeConflictError(f"{where} conflicts ({message})", [])
    return ConflictError(
        f"{where} conflicts with a concurrent change ({message}); retrying is safe"
    )


ErrorScope = Callable[[], AbstractContextManager]


def paged(items: Iterator, convert: Callable, errors: ErrorScope) -> Iterator:
    """Fetch the first page now, so a bad repository or ref fails at the call; later pages are
    fetched as the caller iterates, each under the same translation."""
    with errors():
        first = next(items, None)
    return _rest(first, items, convert, errors)


def _rest(item: Any, items: Iterator, convert: Callable, errors: ErrorScope) -> Iterator:
    while item is not None:
        yield convert(item)
        with errors():
            item = next(items, None)


class ObjectStream(io.RawIOBase):
    """A seekable raw stream over one object: the first read opens one streamed GET from the
    current position, later reads continue that response, and a seek that moves the position
    drops it, so the next read opens a ranged GET there. A sequential read costs one request
    and a parquet reader fetches only the footer and the row groups it asks for. `open_at(pos)`
    returns a streaming urllib3 response; failures surface as store errors."""

    def __init__(self, open_at: Callable[[int], Any], size: int, errors: ErrorScope):
        super().__init__()
        self._open_at = open_at
        self._size = size
        self._errors = errors
        self._pos = 0
        self._response: Any = None
        self.requests = 0  # GETs opened so far
        self.fetched = 0  # bytes received so far

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        if position != self._pos:
            self._drop()
            self._pos = position
        return position

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        with self._errors():
            if self._response is None:
                self._response = self._open_at(self._pos)
                self.requests += 1
                self._check_length(self._response.headers.get("Content-Length"))
            chunk = self._response.read(want)
        if not chunk:
            raise BackendError(
                f"the lakeFS object ended at byte {self._pos} of {self._size}; it changed while "
                "being read, or the connection was cut"
            )
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        self.fetched += len(chunk)
        return len(chunk)

    def _check_length(self, length: str | None) -> None:
        if length is not None and int(length) != self._size - self._pos:
            self._drop()
            raise BackendError(
                f"the lakeFS object is {int(length) + self._pos} bytes now, not the {self._size} "
                "it had when opened; it changed while being read: open it again"
            )

    def readall(self) -> bytes:
        parts = []
        while self._pos < self._size:
            buffer = bytearray(min(self._size - self._pos, 8 * 1024 * 1024))
            parts.append(bytes(buffer[: self.readinto(buffer)]))
        return b"".join(parts)

    def _drop(self) -> None:
        if self._response is not None:
            self._response.release_conn()
            self._response = None

    def close(self) -> None:
        self._drop()
        super().close()


def repository_record(props: Any) -> Repository:
    return Repository(props.id, props.default_branch, props.storage_namespace)


RESERVED_METADATA_PREFIX = ".lakefs."  # lakeFS's own commit metadata, such as the merge strategy


def commit_record(commit: Any) -> Commit:
    """A commit's record; lakeFS's own metadata keys (every merge carries
    `.lakefs.merge.strategy`) are left out, so metadata is what the caller wrote."""
    metadata = commit.metadata or {}
    return Commit(
        id=commit.id,
        message=commit.message,
        metadata={k: v for k, v in metadata.items() if not k.startswith(RESERVED_METADATA_PREFIX)},
        parents=tuple(commit.parents),
        committer=commit.committer,
        created_at=datetime.fromtimestamp(commit.creation_date, UTC),
    )


def object_stat(stats: Any) -> ObjectStat:
    return ObjectStat(
        path=stats.path,
        checksum=stats.checksum,
        size=stats.size_bytes or 0,
        content_type=stats.content_type or DEFAULT_CONTENT_TYPE,
        metadata=dict(stats.metadata or {}),
        physical_address=stats.physical_address,
        mtime=datetime.fromtimestamp(stats.mtime, UTC) if stats.mtime else None,
    )


def listing_entry(item: Any) -> ObjectStat | CommonPrefix:
    if isinstance(item, lakefs.CommonPrefix):
        return CommonPrefix(item.path)
    return object_stat(item)


def changes(items: Iterator) -> list[Change]:
    """Diff entries as Changes; "prefix_changed" (delimited diffs only) has no counterpart."""
    return [Change(_CHANGES[c.type], c.path) for c in items if c.type in _CHANGES]
