"""`fleetloop demo` and `fleetloop ui`: the story headless, then its instance in the UI."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import click

from entrypoints.homelock import home_in_use
from resources.settings import STORE_VIEW_PORT, fleetloop_home, store_view_url


@click.command()
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Simulator seed: another fleet."
)
@click.option("--drives", type=int, default=None, help="Drives in the simulated fleet.")
@click.option("--frames-per-drive", type=int, default=None, help="Frames per drive.")
@click.option(
    "--epochs", type=int, default=None, help="Training epochs (default 15; 0: the model's own)."
)
@click.option(
    "--slice-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Scale every slice's target size (for a smaller fleet).",
)
@click.option("--timeout", "timeout_s", type=float, default=1500.0, show_default=True)
@click.option(
    "--keep", is_flag=True, help="Keep the previous demo's state instead of starting fresh."
)
@click.option(
    "--stack",
    type=click.Choice(["embedded", "production"]),
    default="embedded",
    show_default=True,
    help="embedded: the local store, SQLite catalog and instance, nothing to set up. "
    "production: lakeFS (metadata in PostgreSQL, objects on S3 via moto, pre-signed), Dagster "
    "and the catalog on the same PostgreSQL, all started here for the demo and stopped after.",
)
def demo(seed, drives, frames_per_drive, epochs, slice_scale, timeout_s, keep, stack) -> None:
    """Replay the data-engine story headless: fleet → baseline → gaps → curated slices →
    labels → retrain → per-slice report → gated promotion. Writes $FLEETLOOP_HOME/demo.json."""
    from entrypoints.demo.runner import DemoConfig, DemoFailed, run_demo
    from entrypoints.homelock import HomeBusy

    defaults = DemoConfig()
    config = DemoConfig(
        seed=seed,
        drives=drives or defaults.drives,
        frames_per_drive=frames_per_drive or defaults.frames_per_drive,
        epochs=defaults.epochs if epochs is None else epochs,
        slice_scale=slice_scale,
        timeout_s=timeout_s,
        fresh=not keep,
    )
    home = fleetloop_home()
    signal.signal(signal.SIGTERM, _interrupt)  # a `kill` stops the daemon and the stack too
    try:
        with contextlib.ExitStack() as running:
            environment = None
            if stack == "production":
                from deploy.lakefs.server import LakeFSUnavailable
                from deploy.production import production_stack

                try:
                    production = running.enter_context(production_stack(home))
                except LakeFSUnavailable as error:
                    raise click.ClickException(f"the production stack: {error}") from None
                environment = production.environment()
                click.echo(
                    f"production stack: lakeFS {production.lakefs.endpoint} (UI and S3 gateway), "
                    f"S3 {production.s3_endpoint}, PostgreSQL {production.postgres}"
                )
            run_demo(config, home, say=click.echo, stack=environment)
    except (DemoFailed, HomeBusy) as error:
        raise click.ClickException(str(error)) from None


@click.command()
@click.option("--port", type=int, default=3000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--store-port",
    type=int,
    default=None,
    help="Port of the read-only store view that the store links in Dagster open "
    "(default: the port of $FLEETLOOP_STORE_VIEW_URL, else 3030).",
)
def ui(port: int, host: str, store_port: int | None) -> None:
    """Open the Dagster UI on the demo's instance ($FLEETLOOP_HOME/dagster), with the store
    view of the configured store ($FLEETLOOP_STORE) beside it. Ctrl-C or SIGTERM stops both."""
    from entrypoints.demo.instance import demo_environment, prepare_instance, repo_root

    home = fleetloop_home()
    if not (home / "dagster" / "dagster.yaml").exists():
        prepare_instance(home)
    env = {**os.environ, **demo_environment(home)}
    webserver = [
        str(Path(sys.executable).with_name("dagster-webserver")),
        *("-w", str(repo_root() / "workspace.yaml"), "-h", host, "-p", str(port)),
    ]
    signal.signal(signal.SIGTERM, _interrupt)  # a `kill` stops both servers, as Ctrl-C does
    code = 130
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(home_in_use(home))
            # On lakeFS too: its UI shows HTML (Data Docs, reports) as source, the view renders it.
            store_port = store_port or urlsplit(store_view_url()).port or STORE_VIEW_PORT
            # Runs launched from this UI link to the view started beside it.
            env["FLEETLOOP_STORE_VIEW_URL"] = f"http://{host}:{store_port}"
            view = [
                str(Path(sys.executable).with_name("fleetloop")),
                *("store-view", "--host", host, "--port", str(store_port)),
            ]
            stack.enter_context(_process(view, cwd=repo_root(), env=env))
            click.echo(f"Dagster UI on http://{host}:{port} (instance {env['DAGSTER_HOME']})")
            dagster = stack.enter_context(_process(webserver, cwd=repo_root(), env=env))
            code = dagster.wait()
    except KeyboardInterrupt:
        pass
    raise SystemExit(code)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _process(command: list[str], **kwargs) -> Iterator[subprocess.Popen]:
    """`command` running for the block; stopped (SIGTERM, then SIGKILL) when it ends."""
    process = subprocess.Popen(command, **kwargs)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
