"""`fleetloop flag`, `fleetloop flags` and `fleetloop review`: human review flags.

A flag is a catalog row (who, when, why, and the `production` version of the model whose boxes
prompted it); only frames in `frames/frames.parquet` on the branch can be flagged. The store
comes from `resources/versioning/factory.py`, the catalog from `$FLEETLOOP_CATALOG_URL` (else
SQLite in `$FLEETLOOP_HOME`). Errors a user can fix end the command with one line, status 1.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import click

from entrypoints.homelock import home_in_use
from resources.versioning.factory import default_repository, open_store

repo_option = click.option(
    "--repo",
    "-r",
    default=default_repository,
    show_default="$FLEETLOOP_REPOSITORY or drive-data",
    help="Repository holding the frames.",
)
backend_option = click.option(
    "--backend",
    type=click.Choice(["local", "lakefs"]),
    default=None,
    help="Store backend (default: $FLEETLOOP_STORE, then local).",
)
model_option = click.option(
    "--model", default=None, help="Registry name of the model (default: cone_detector)."
)
by_option = click.option(
    "--by", "flagged_by", default=None, help="Who flags (default: your login name)."
)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    from entrypoints.review import ReviewError
    from resources.catalog import CatalogError
    from resources.versioning import StoreError

    try:
        yield
    except (ReviewError, CatalogError, StoreError) as error:
        raise click.ClickException(" ".join(str(error).split())) from None


@click.command()
@click.argument("frame_id")
@click.option("--reason", "-m", required=True, help="What is wrong with the frame.")
@by_option
@repo_option
@backend_option
@model_option
def flag(frame_id, reason, flagged_by, repo, backend, model) -> None:
    """Flag FRAME_ID for review (e.g. d0000-00042), saying why."""
    with _one_line_errors():
        from entrypoints.review import MODEL_NAME, FrameSource, default_reviewer, flag_frame
        from resources.catalog import Catalog

        model = model or MODEL_NAME
        frames = FrameSource(open_store(backend), repo)
        with Catalog() as catalog:
            record = flag_frame(
                catalog,
                frames,
                frame_id,
                reason,
                flagged_by=flagged_by or default_reviewer(),
                model=model,
            )
    against = (
        f"{model} {record.model_version}" if record.model_version else f"no production {model}"
    )
    click.echo(
        f"flag {record.id}: {record.frame_id} by {record.flagged_by} ({against}): {record.reason}"
    )


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Resolved flags too.")
def flags(show_all: bool) -> None:
    """List review flags, oldest first (open ones only unless --all)."""
    with _one_line_errors():
        from resources.catalog import Catalog

        with Catalog() as catalog:
            records = catalog.flags(open_only=not show_all)
    if not records:
        click.echo("no review flags" if show_all else "no open review flags")
        return
    columns = ["ID", "FRAME", "FLAGGED", "BY", "MODEL", "REASON"]
    if show_all:
        columns += ["RESOLVED", "RESOLUTION"]
    table = _table(columns)
    for record in records:
        row = [
            str(record.id),
            record.frame_id,
            _when(record.created_at),
            record.flagged_by,
            record.model_version or "",
            record.reason,
        ]
        if show_all:
            row += [_when(record.resolved_at), record.resolution or ""]
        table.add_row(*row)
    _console().print(table)


@click.command()
@click.option("--slice", "slice_name", default=None, help="Open this slice (default: all frames).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Another name the page may be reached by (Host header); repeatable. Default: "
    "localhost, 127.0.0.1, --host and, for 0.0.0.0, this machine's host names.",
)
@by_option
@repo_option
@backend_option
@model_option
def review(slice_name, host, port, allow_hosts, flagged_by, repo, backend, model) -> None:
    """Serve the review page: frames with the production model's boxes, a Flag button each.

    Beyond loopback the page needs an access token, new at every start and printed once in
    the page's address."""
    with _one_line_errors():
        import uvicorn

        from entrypoints.review import MODEL_NAME, FrameSource, create_app, default_reviewer
        from entrypoints.review.app import LOCAL_HOSTS
        from entrypoints.review.flagging import clean_name
        from entrypoints.review.guards import new_token
        from resources.catalog import Catalog

        store = open_store(backend)
        reviewer = clean_name(flagged_by or default_reviewer())
        frames = FrameSource(store, repo)
        frames.selection(frames.commit(), slice_name)  # no frames, unknown slice: say so now
        hosts = allowed_hosts(host, allow_hosts)
        token = None if is_loopback(host) else new_token()
        if token:
            click.echo(
                f"warning: serving on {host}: whoever has the token below can flag frames; "
                f"Host must be one of {', '.join(hosts)} (add more with --allow-host)",
                err=True,
            )
        with Catalog() as catalog:
            app = create_app(
                store,
                catalog,
                repo=repo,
                reviewer=reviewer,
                model=model or MODEL_NAME,
                allowed_hosts=hosts,
                token=token,
            )
            path = f"/slices/{quote(slice_name, safe='')}" if slice_name else "/"
            shown = hosts[len(LOCAL_HOSTS)] if host in WILDCARD_HOSTS else host
            address = f"http://{_bracketed(shown)}:{port}{path}"
            if token:
                address += f"?token={token}"
            click.echo(f"Review page on {address} as {reviewer} (Ctrl-C stops)")
            with home_in_use():
                uvicorn.run(app, host=host, port=port, log_level="warning")


WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the page on this machine (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Host header values the page answers: loopback names, the bound address, `extra`,
    and for a wildcard bind this machine's own names (never `*`)."""
    import socket

    from entrypoints.review.app import LOCAL_HOSTS

    names = list(LOCAL_HOSTS)
    if host in WILDCARD_HOSTS:
        names += [socket.gethostname(), socket.getfqdn()]
    else:
        names.append(host)
    for name in extra:
        if not name or "*" in name or "/" in name:
            raise click.BadParameter(f"{name!r} is not a host name", param_hint="--allow-host")
        names.append(name)
    return tuple(dict.fromkeys(n for n in names if n))


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _console():
    from rich.console import Console

    return Console(markup=False, highlight=False, width=None if sys.stdout.isatty() else 200)


def _table(columns: list[str]):
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=column != "REASON", overflow="fold")
    return table


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z") if moment else ""
