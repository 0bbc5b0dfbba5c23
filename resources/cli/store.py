"""`fleetloop store …`: lakectl-style verbs over either store backend."""

from __future__ import annotations

import click


@click.group()
def store() -> None:
    """Inspect and change the versioned store (repos, branches, log, diff, cat, tag, merge)."""
