"""`fleetloop demo` and `fleetloop ui`: the story headless, then its instance in the UI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from resources.settings import fleetloop_home


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
def demo(seed, drives, frames_per_drive, epochs, slice_scale, timeout_s, keep) -> None:
    """Replay the data-engine story headless: fleet → baseline → gaps → curated slices →
    labels → retrain → per-slice report → gated promotion. Writes $FLEETLOOP_HOME/demo.json."""
    from entrypoints.demo.runner import DemoConfig, DemoFailed, run_demo

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
    try:
        run_demo(config, fleetloop_home(), say=click.echo)
    except DemoFailed as error:
        raise click.ClickException(str(error)) from None


@click.command()
@click.option("--port", type=int, default=3000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def ui(port: int, host: str) -> None:
    """Open the Dagster UI on the demo's instance ($FLEETLOOP_HOME/dagster)."""
    from entrypoints.demo.instance import demo_environment, prepare_instance, repo_root

    home = fleetloop_home()
    if not (home / "dagster" / "dagster.yaml").exists():
        prepare_instance(home)
    env = demo_environment(home)
    webserver = Path(sys.executable).with_name("dagster-webserver")
    command = [
        str(webserver),
        "-w",
        str(repo_root() / "workspace.yaml"),
        "-h",
        host,
        "-p",
        str(port),
    ]
    click.echo(f"Dagster UI on http://{host}:{port} (instance {env['DAGSTER_HOME']})")
    raise SystemExit(subprocess.call(command, cwd=repo_root(), env={**os.environ, **env}))
