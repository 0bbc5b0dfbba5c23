"""Build lakeFS from the pinned Go module in this folder: `python -m deploy.lakefs.server build`.

`go build` of lakeFS's `cmd/lakefs` and `cmd/lakectl` into `build/lakefs/bin`, with the real web
UI embedded when npm can build it, skipped when the binaries are up to date. Standard library
only, so the Makefile can run it before the virtualenv exists.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parent
REPO_ROOT = MODULE_DIR.parent.parent
BUILD_DIR = REPO_ROOT / "build" / "lakefs"
LAKEFS_MODULE = "github.com/treeverse/lakefs"
COMMANDS = ("lakefs", "lakectl")
MIN_GO = (1, 26, 4)  # lakeFS v1.84.0's go.mod says `go 1.26.4`


class LakeFSUnavailable(RuntimeError):
    """lakeFS cannot be built or started here; the message says why and what to install."""


def go_version(go: str) -> tuple[int, ...]:
    text = _go_env(go, "GOVERSION")
    match = re.match(r"go(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        raise LakeFSUnavailable(f"cannot read the Go version from {text!r}")
    return tuple(int(part or 0) for part in match.groups())


def find_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise LakeFSUnavailable(
            "Go is not installed, so lakeFS cannot be built (install Go >= "
            f"{'.'.join(map(str, MIN_GO))}, then `make lakefs-build`)"
        )
    found = go_version(go)
    if found < MIN_GO:
        raise LakeFSUnavailable(
            f"Go {'.'.join(map(str, found))} is too old for lakeFS v1.84.0, which needs Go >= "
            f"{'.'.join(map(str, MIN_GO))}"
        )
    return go


def _go_env(go: str, name: str) -> str:
    out = subprocess.run([go, "env", name], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _module(go: str, field: str) -> str:
    out = subprocess.run(
        [go, "list", "-m", "-f", "{{." + field + "}}", LAKEFS_MODULE],
        cwd=MODULE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def module_dir(go: str) -> Path:
    """lakeFS's source in the module cache (read-only), downloaded if missing."""
    subprocess.run([go, "mod", "download", LAKEFS_MODULE], cwd=MODULE_DIR, check=True)
    return Path(_module(go, "Dir"))


def build_webui(go: str, build_dir: Path = BUILD_DIR) -> Path | None:
    """A writable copy of the lakeFS module with its web UI built in it (`npm ci && npm run
    build` in webui/), or None, with the reason on stderr, when npm is missing or fails.

    lakeFS embeds the UI with `//go:embed all:dist`, and the module cache ships dist/ with only
    `.gitkeep`; `go build -overlay` may not replace files in GOMODCACHE, so the build compiles
    this copy in place of the module (a go.work `replace`, see `_workspace`)."""
    source = module_dir(go)
    copy = build_dir / "src"
    stamp = build_dir / "webui.stamp"
    if (copy / "webui" / "dist" / "index.html").exists() and stamp.exists():
        if stamp.read_text() == str(source):
            return copy
    npm = shutil.which("npm")
    if npm is None:
        sys.stderr.write("lakefs-build: npm not found; building lakeFS without its web UI\n")
        return None
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)
    for path in [copy, *copy.rglob("*")]:  # the module cache is read-only, and so is a copy
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    try:
        for step in (["ci", "--no-audit", "--no-fund"], ["run", "build"]):
            subprocess.run([npm, *step], cwd=copy / "webui", check=True, stdout=sys.stderr)
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(f"lakefs-build: the web UI did not build ({exc}); building without it\n")
        return None
    shutil.rmtree(copy / "webui" / "node_modules")  # 500 MB the Go build does not read
    stamp.write_text(str(source))
    return copy


def _workspace(go: str, copy: Path, build_dir: Path) -> Path:
    """A go.work that builds this module with lakeFS replaced by the copy holding the UI."""
    version = _module(go, "Version")
    work = build_dir / "go.work"
    work.write_text(
        f"go {'.'.join(map(str, MIN_GO))}\n\nuse {MODULE_DIR}\n\n"
        f"replace {LAKEFS_MODULE} {version} => {copy}\n"
    )
    return work


def _inputs_digest(go: str, ui: Path | None) -> str:
    digest = hashlib.sha256(_go_env(go, "GOVERSION").encode())
    for name in ("go.mod", "go.sum", "tools.go"):
        digest.update((MODULE_DIR / name).read_bytes())
    digest.update(b"ui" if ui else b"no-ui")
    return digest.hexdigest()


def binary(name: str, build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / "bin" / name


def build(build_dir: Path = BUILD_DIR, *, ui: bool = True) -> dict[str, Path]:
    """Build lakefs and lakectl into `build_dir/bin` unless they are up to date (same Go, same
    go.mod/go.sum, same UI choice); Go's build and module caches make a rebuild cheap."""
    go = find_go()
    build_dir.mkdir(parents=True, exist_ok=True)
    ui_copy = build_webui(go, build_dir) if ui else None
    stamp = build_dir / "bin.stamp"
    wanted = _inputs_digest(go, ui_copy)
    built = {name: binary(name, build_dir) for name in COMMANDS}
    if all(p.exists() for p in built.values()) and stamp.exists() and stamp.read_text() == wanted:
        return built
    version = _module(go, "Version").removeprefix("v")  # what lakeFS's own `make build` stamps
    command = [go, "build", "-trimpath", "-o", str(build_dir / "bin") + os.sep]
    command.append(f"-ldflags=-X {LAKEFS_MODULE}/pkg/version.Version={version}")
    command += [f"{LAKEFS_MODULE}/cmd/{name}" for name in COMMANDS]
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOWORK": "off"}
    if ui_copy is not None:
        env["GOWORK"] = str(_workspace(go, ui_copy, build_dir))
    started = time.monotonic()
    subprocess.run(command, cwd=MODULE_DIR, check=True, env=env)
    stamp.write_text(wanted)
    sys.stderr.write(
        f"lakefs-build: built {', '.join(COMMANDS)} in {time.monotonic() - started:.0f} s "
        f"({'with' if ui_copy else 'without'} the web UI)\n"
    )
    return built
