"""Who is using a fleetloop home, told by advisory file locks (flock) inside it.

- Every process that reads or serves a home (`fleetloop ui`, `review`, `store-view`, the demo)
  holds `.home.lock` shared while it runs.
- Resetting a home (a fresh `fleetloop demo`) takes `.home.lock` exclusively, so it never
  deletes the store, catalog or instance under a live UI or review page.
- One daemon per home: whoever runs the Dagster daemon on it holds `.daemon.lock` exclusively
  (its pid is written inside), so a second `fleetloop demo` on the same home is refused.

The kernel drops a lock when its holder dies, so a crash never leaves a home locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import click

from resources.settings import fleetloop_home

HOME_LOCK = ".home.lock"
DAEMON_LOCK = ".daemon.lock"


class HomeBusy(RuntimeError):
    pass


def _open(home: Path, name: str) -> int:
    home.mkdir(parents=True, exist_ok=True)
    return os.open(home / name, os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def _locked(home: Path, name: str, mode: int, busy: str) -> Iterator[int]:
    fd = _open(home, name)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            raise HomeBusy(busy.format(home=home, holder=holder or "another process")) from None
        yield fd
    finally:
        os.close(fd)  # closing drops the lock


@contextlib.contextmanager
def using(home: Path) -> Iterator[None]:
    """Hold the home shared (a UI, review page or demo is reading it) for the block."""
    busy = "{home} is being reset by a fresh `fleetloop demo`; wait for it or stop it"
    with _locked(home, HOME_LOCK, fcntl.LOCK_SH, busy):
        yield


@contextlib.contextmanager
def resetting(home: Path) -> Iterator[None]:
    """Hold the home exclusively while its state is deleted."""
    busy = (
        "{home} is in use (a `fleetloop ui`, `review` or `store-view` is serving it): stop "
        "it first, or set FLEETLOOP_HOME to another folder, or pass --keep"
    )
    with _locked(home, HOME_LOCK, fcntl.LOCK_EX, busy):
        yield


@contextlib.contextmanager
def daemon_slot(home: Path) -> Iterator[None]:
    """The one Dagster daemon this home may have, held for the block."""
    busy = (
        "{home} already has a running Dagster daemon ({holder}): stop that demo first, or "
        "set FLEETLOOP_HOME to another folder"
    )
    with _locked(home, DAEMON_LOCK, fcntl.LOCK_EX, busy) as fd:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        yield


@contextlib.contextmanager
def home_in_use(home: Path | None = None) -> Iterator[None]:
    """`using` for a command: the home (default `$FLEETLOOP_HOME`) held shared, a busy home a
    one-line error."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(using(home or fleetloop_home()))
        except HomeBusy as error:
            raise click.ClickException(str(error)) from None
        yield
