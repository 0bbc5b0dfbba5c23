"""Running the peers' command-line tools: git with a neutral configuration, and DVC from its
own virtual environment (`.venv-bench`, created on first use; never the project's venv)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from bench.timing import progress

BENCH_VENV = Path(__file__).resolve().parent.parent / ".venv-bench"
DVC_VERSION = "3.67.1"

# No user or system git configuration; auto-gc off so a background gc never lands in a
# later measurement.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@fleetloop",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@fleetloop",
    "DVC_NO_ANALYTICS": "1",
}


def run(args: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV, **(env or {})},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(str(arg) for arg in args[:4])}` failed ({result.returncode}): "
            f"{(result.stderr or result.stdout)[-2000:]}"
        )
    return result.stdout


def feed(args: list[str | Path], cwd: Path, chunks: Iterable[bytes]) -> None:
    """Run a command with `chunks` streamed to its standard input."""
    env = {**os.environ, **GIT_ENV}
    with subprocess.Popen(
        [str(arg) for arg in args], cwd=cwd, env=env, stdin=subprocess.PIPE
    ) as process:
        assert process.stdin is not None
        for chunk in chunks:
            process.stdin.write(chunk)
        process.stdin.close()
        if process.wait() != 0:
            raise RuntimeError(f"`{' '.join(str(arg) for arg in args[:3])}` failed")


def git_init(path: Path) -> None:
    path.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main", path])
    run(["git", "config", "gc.auto", "0"], cwd=path)


def git_version() -> str:
    return run(["git", "--version"]).split()[-1]


def _installed_dvc(dvc: Path) -> str | None:
    if not dvc.exists():
        return None
    try:
        return run([dvc, "--version"]).strip()
    except (RuntimeError, OSError):
        return None


def ensure_dvc() -> Path:
    """The dvc binary of `.venv-bench`, installing dvc==DVC_VERSION there if needed."""
    dvc = BENCH_VENV / "bin" / "dvc"
    if _installed_dvc(dvc) == DVC_VERSION:
        return dvc
    progress(f"installing dvc=={DVC_VERSION} into {BENCH_VENV} (once)")
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        run(["python3", "-m", "venv", BENCH_VENV])
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([python, "-m", "pip", "install", "--quiet", f"dvc=={DVC_VERSION}"])
    if _installed_dvc(dvc) != DVC_VERSION:
        raise RuntimeError(f"dvc {DVC_VERSION} did not install into {BENCH_VENV}")
    return dvc
