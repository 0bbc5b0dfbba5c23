"""`fleetloop store-view`: serve the store read-only over HTTP, so store links open in a browser.

The store comes from `resources/versioning/factory.py`; the address should match
`$FLEETLOOP_STORE_VIEW_URL` (default `http://127.0.0.1:3030`), which is what the links in
Dagster metadata point at. `fleetloop ui` starts it beside the Dagster webserver.
"""

from __future__ import annotations

import click

from entrypoints.homelock import home_in_use
from resources.settings import STORE_VIEW_PORT


@click.command("store-view")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=STORE_VIEW_PORT, show_default=True)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Another name the view may be reached by (Host header); repeatable.",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "lakefs"]),
    default=None,
    help="Store backend (default: $FLEETLOOP_STORE, then local).",
)
def store_view(host: str, port: int, allow_hosts: tuple[str, ...], backend: str | None) -> None:
    """Serve GET /<repo>/<ref>/<path> of the store, read-only (objects, Data Docs, listings)."""
    import uvicorn

    from entrypoints.cli.review import allowed_hosts
    from entrypoints.storeview import create_app
    from resources.versioning.factory import open_store

    app = create_app(open_store(backend), allowed_hosts=allowed_hosts(host, allow_hosts))
    click.echo(f"Store view on http://{host}:{port}/ (read-only; Ctrl-C stops)")
    with home_in_use():
        uvicorn.run(app, host=host, port=port, log_level="warning")
