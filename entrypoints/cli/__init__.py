"""`fleetloop`: the command line for the loop's daily verbs.

Each verb group lives in its own module and is registered here; imports stay inside the
groups so `fleetloop --help` does not pay for Dagster, torch or Great Expectations.
"""

from __future__ import annotations

import warnings

import click

from entrypoints.cli.demo import demo, ui
from entrypoints.cli.labels import labels
from entrypoints.cli.review import flag, flags, review
from entrypoints.cli.store import store
from entrypoints.cli.storeview import store_view


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fleetloop")
def main() -> None:
    """fleetloop: a data engine for perception models."""
    # Dagster marks the APIs the graph relies on (backfill policies, observable sources) as
    # beta at every definition load; the CLI's users cannot act on that
    warnings.filterwarnings("ignore", message=r".* is currently in beta")


main.add_command(store)
main.add_command(demo)
main.add_command(ui)
main.add_command(labels)
main.add_command(flag)
main.add_command(flags)
main.add_command(review)
main.add_command(store_view)
