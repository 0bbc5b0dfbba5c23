"""The embedded backend of the versioned store (libgit2 + content-addressed objects)."""

from resources.versioning.local.store import LocalStore

__all__ = ["LocalStore"]
