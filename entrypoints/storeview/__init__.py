"""A read-only HTTP view of the versioned store (`GET /<repo>/<ref>/<path>`)."""

from entrypoints.storeview.app import create_app

__all__ = ["create_app"]
