"""The store's exception hierarchy: every backend raises these and nothing else.

Messages name the thing and say what to do, because they end up in Dagster run logs and in
the CLI, read by someone who did not write the code.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the versioned store raises."""


class InvalidArgumentError(StoreError, ValueError):
    """An argument the store cannot act on (an unknown merge strategy, a bad parent number)."""


class InvalidNameError(InvalidArgumentError):
    """A repository, branch or tag name, or an object path, is not acceptable."""


class NotFoundError(StoreError, LookupError):
    """A repository, ref or object does not exist."""


class RepositoryNotFoundError(NotFoundError):
    pass


class RefNotFoundError(NotFoundError):
    """A branch, tag, commit id or ref expression resolves to nothing."""


class ObjectNotFoundError(NotFoundError):
    pass


class AlreadyExistsError(StoreError):
    """Creating something that exists (pass exist_ok=True when that is fine)."""


class AmbiguousRefError(StoreError, ValueError):
    """A commit id prefix matches more than one commit."""


class EmptyCommitError(StoreError):
    """A commit with no staged change (pass allow_empty=True to make one anyway)."""


class DirtyBranchError(StoreError):
    """An operation needs a branch without uncommitted changes."""


class ConflictError(StoreError):
    """A write lost against another writer (the branch head moved); retrying is safe."""


class MergeConflictError(ConflictError):
    """A three-way merge found paths changed differently on both sides."""

    def __init__(self, message: str, paths: list[str]):
        super().__init__(message)
        self.paths = paths


class CorruptionError(StoreError):
    """Stored data does not match its checksum or structure (found by fsck or on read)."""

    def __init__(self, message: str, problems: list[str] | None = None, report=None):
        super().__init__(message)
        self.problems = problems if problems is not None else [message]
        self.report = report  # the FsckReport, when fsck found the problems


class BackendError(StoreError):
    """The backend failed for a reason not covered above (server down, permission, …)."""
