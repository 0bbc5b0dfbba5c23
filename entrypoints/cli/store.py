"""`fleetloop store …`: lakectl-style verbs over either store backend.

The backend comes from `resources/versioning/factory.py` (`FLEETLOOP_STORE`, `FLEETLOOP_HOME`,
`LAKECTL_*`), the repository from `--repo` (default `$FLEETLOOP_REPOSITORY`, then
`drive-data`). Every store exception ends the command with a one-line `Error: …` and exit
status 1; there are no tracebacks for things a user can fix.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime

import click

from resources.versioning.errors import CorruptionError, StoreError
from resources.versioning.factory import default_repository, open_store
from resources.versioning.protocol import VersionedStore
from resources.versioning.records import ChangeType, Commit, CommonPrefix, MergeStrategy

_MARKS = {ChangeType.ADDED: "+", ChangeType.REMOVED: "-", ChangeType.CHANGED: "~"}


class _StoreGroup(click.Group):
    """Turns store exceptions raised by any subcommand into a one-line error."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StoreError as error:
            raise click.ClickException(" ".join(str(error).split())) from None


@dataclass
class _Context:
    backend: str | None
    repo: str
    _store: VersionedStore | None = field(default=None, repr=False)

    @property
    def store(self) -> VersionedStore:
        if self._store is None:
            self._store = open_store(self.backend)
        return self._store


def _console():
    from rich.console import Console

    # Not a terminal (a pipe, a test): wide enough that 64-hex ids are never wrapped.
    return Console(markup=False, highlight=False, width=None if sys.stdout.isatty() else 200)


def _table(*columns: str):
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True)
    return table


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z") if moment else ""


def _size(count: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _metadata(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--meta")
        out[key] = value
    return out


pass_context = click.make_pass_decorator(_Context)
meta_option = click.option("--meta", multiple=True, metavar="KEY=VALUE", help="Metadata.")


@click.group(cls=_StoreGroup)
@click.option(
    "--repo",
    "-r",
    default=default_repository,
    show_default="$FLEETLOOP_REPOSITORY or drive-data",
    help="Repository to work on.",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "lakefs"]),
    default=None,
    help="Store backend (default: $FLEETLOOP_STORE, then local).",
)
@click.pass_context
def store(ctx: click.Context, repo: str, backend: str | None) -> None:
    """Inspect and change the versioned store (repos, branches, log, diff, ls, cat, tag, merge)."""
    ctx.obj = _Context(backend, repo)


# -- repositories ------------------------------------------------------------------------------
@store.group()
def repos() -> None:
    """List and create repositories."""


@repos.command("list")
@pass_context
def repos_list(ctx: _Context) -> None:
    table = _table("REPOSITORY", "DEFAULT BRANCH", "STORAGE")
    for repo in ctx.store.list_repositories():
        table.add_row(repo.name, repo.default_branch, repo.storage)
    _console().print(table)


@repos.command("create")
@click.argument("name")
@click.option("--default-branch", default="main", show_default=True)
@click.option("--exist-ok", is_flag=True, help="Succeed if the repository exists.")
@pass_context
def repos_create(ctx: _Context, name: str, default_branch: str, exist_ok: bool) -> None:
    repo = ctx.store.create_repository(name, default_branch, exist_ok=exist_ok)
    click.echo(f"Repository {repo.name!r} (default branch {repo.default_branch!r})")


# -- branches and tags -------------------------------------------------------------------------
@store.group()
def branches() -> None:
    """List, create and delete branches."""


@branches.command("list")
@pass_context
def branches_list(ctx: _Context) -> None:
    table = _table("BRANCH", "COMMIT")
    for ref in ctx.store.list_branches(ctx.repo):
        table.add_row(ref.name, ref.commit_id)
    _console().print(table)


@branches.command("create")
@click.argument("name")
@click.option("--source", "-s", help="Ref to branch from (default: the default branch).")
@click.option("--exist-ok", is_flag=True, help="Succeed if the branch exists.")
@pass_context
def branches_create(ctx: _Context, name: str, source: str | None, exist_ok: bool) -> None:
    source = source or ctx.store.get_repository(ctx.repo).default_branch
    ref = ctx.store.create_branch(ctx.repo, name, source, exist_ok=exist_ok)
    click.echo(f"Branch {ref.name!r} at {ref.commit_id}")


@branches.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def branches_delete(ctx: _Context, name: str, yes: bool) -> None:
    if not yes:
        click.confirm(f"Delete branch {name!r} and its uncommitted changes?", abort=True)
    ctx.store.delete_branch(ctx.repo, name)
    click.echo(f"Deleted branch {name!r}")


@store.group()
def tag() -> None:
    """List, create and delete tags (immutable names for commits)."""


@tag.command("list")
@pass_context
def tag_list(ctx: _Context) -> None:
    table = _table("TAG", "COMMIT")
    for ref in ctx.store.list_tags(ctx.repo):
        table.add_row(ref.name, ref.commit_id)
    _console().print(table)


@tag.command("create")
@click.argument("name")
@click.argument("ref")
@click.option("--exist-ok", is_flag=True, help="Succeed if the tag exists at this commit.")
@pass_context
def tag_create(ctx: _Context, name: str, ref: str, exist_ok: bool) -> None:
    created = ctx.store.create_tag(ctx.repo, name, ref, exist_ok=exist_ok)
    click.echo(f"Tag {created.name!r} at {created.commit_id}")


@tag.command("delete")
@click.argument("name")
@pass_context
def tag_delete(ctx: _Context, name: str) -> None:
    ctx.store.delete_tag(ctx.repo, name)
    click.echo(f"Deleted tag {name!r}")


# -- history -----------------------------------------------------------------------------------
def _print_commit(commit: Commit) -> None:
    click.echo(f"commit {commit.id}")
    if len(commit.parents) > 1:
        click.echo("Merge:   " + " ".join(parent[:12] for parent in commit.parents))
    click.echo(f"Author:  {commit.committer}")
    click.echo(f"Date:    {_when(commit.created_at)}")
    click.echo()
    for line in commit.message.splitlines() or [""]:
        click.echo(f"    {line}")
    if commit.metadata:
        click.echo()
        for key, value in sorted(commit.metadata.items()):
            click.echo(f"    {key} = {value}")
    click.echo()


@store.command()
@click.argument("ref", required=False)
@click.option("--amount", "-n", type=click.IntRange(min=1), help="Show at most N commits.")
@click.option("--oneline", is_flag=True, help="One line per commit.")
@pass_context
def log(ctx: _Context, ref: str | None, amount: int | None, oneline: bool) -> None:
    """Commits reachable from REF (default: the default branch), newest first."""
    ref = ref or ctx.store.get_repository(ctx.repo).default_branch
    for commit in ctx.store.log(ctx.repo, ref, max_amount=amount):
        if oneline:
            first = commit.message.splitlines()[0] if commit.message else ""
            click.echo(f"{commit.id[:12]} {_when(commit.created_at)}  {first}")
        else:
            _print_commit(commit)


@store.command()
@click.argument("left")
@click.argument("right", required=False)
@click.option("--two-dot", is_flag=True, help="The direct difference of the two trees.")
@click.option("--prefix", default="", help="Only paths under this prefix.")
@pass_context
def diff(ctx: _Context, left: str, right: str | None, two_dot: bool, prefix: str) -> None:
    """What RIGHT changed since LEFT. `A...B` (or `A B`) is three-dot: since their merge
    base, as a merge would see it; `A..B` (or --two-dot) compares the trees directly. A single
    branch shows its uncommitted changes."""
    if right is None and "..." in left:
        left, right = left.split("...", 1)
    elif right is None and ".." in left:
        (left, right), two_dot = left.split("..", 1), True
    if right is None:
        found = ctx.store.uncommitted(ctx.repo, left, prefix)
        title = f"uncommitted changes on {left!r}"
    else:
        found = ctx.store.diff(ctx.repo, left, right, prefix=prefix, two_dot=two_dot)
        title = f"{left}{'..' if two_dot else '...'}{right}"
    click.echo(f"{title}: {len(found)} change(s)")
    for change in found:
        click.echo(f"{_MARKS[change.type]} {change.path}")


# -- objects -----------------------------------------------------------------------------------
@store.command()
@click.argument("ref")
@click.argument("prefix", default="")
@click.option("--recursive", "-R", is_flag=True, help="List every object, not one level.")
@pass_context
def ls(ctx: _Context, ref: str, prefix: str, recursive: bool) -> None:
    """Objects and common prefixes under PREFIX at REF."""
    table = _table("TYPE", "MODIFIED", "SIZE", "PATH")
    delimiter = "" if recursive else "/"
    for entry in ctx.store.list_objects(ctx.repo, ref, prefix, delimiter=delimiter):
        if isinstance(entry, CommonPrefix):
            table.add_row("prefix", "", "", entry.path)
        else:
            table.add_row("object", _when(entry.mtime), _size(entry.size), entry.path)
    _console().print(table)


@store.command()
@click.argument("ref")
@click.argument("path")
@pass_context
def cat(ctx: _Context, ref: str, path: str) -> None:
    """Write an object's bytes to standard output."""
    out = sys.stdout.buffer
    with ctx.store.open_reader(ctx.repo, ref, path) as reader:
        while chunk := reader.read(1 << 20):
            out.write(chunk)
    out.flush()


@store.command()
@click.argument("ref")
@click.argument("path")
@pass_context
def stat(ctx: _Context, ref: str, path: str) -> None:
    """An object's size, checksum, content type and metadata."""
    found = ctx.store.stat(ctx.repo, ref, path)
    rows = [
        ("Path", found.path),
        ("Size", f"{found.size} bytes"),
        ("Checksum", found.checksum),
        ("Content type", found.content_type),
        ("Address", found.physical_address),
        ("Modified", _when(found.mtime) or "(committed)"),
        *((f"Metadata {key}", value) for key, value in sorted(found.metadata.items())),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        click.echo(f"{name + ':':<{width + 2}}{value}")


@store.command()
@click.argument("branch")
@click.argument("path")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--content-type", default="application/octet-stream", show_default=True)
@meta_option
@pass_context
def put(ctx, branch: str, path: str, source, content_type: str, meta: tuple[str, ...]) -> None:
    """Stage SOURCE (a file, or - for standard input) as PATH on BRANCH."""
    found = ctx.store.put(
        ctx.repo, branch, path, source, content_type=content_type, metadata=_metadata(meta)
    )
    click.echo(f"Staged {found.path!r} on {branch!r} ({found.size} bytes)")


@store.command()
@click.argument("branch")
@click.option("--message", "-m", required=True, help="Commit message.")
@click.option("--allow-empty", is_flag=True, help="Commit even with nothing staged.")
@meta_option
@pass_context
def commit(ctx: _Context, branch: str, message: str, allow_empty: bool, meta) -> None:
    """Commit what is staged on BRANCH."""
    made = ctx.store.commit(
        ctx.repo, branch, message, metadata=_metadata(meta), allow_empty=allow_empty
    )
    click.echo(f"Committed {made.id} on {branch!r}")


@store.command()
@click.argument("source")
@click.argument("destination")
@click.option("--message", "-m", help="Merge commit message.")
@click.option("--strategy", type=click.Choice([s.value for s in MergeStrategy]), default=None)
@meta_option
@pass_context
def merge(ctx: _Context, source: str, destination: str, message, strategy, meta) -> None:
    """Three-way merge of SOURCE (any ref) into the branch DESTINATION."""
    made = ctx.store.merge(
        ctx.repo,
        source,
        destination,
        message=message,
        metadata=_metadata(meta),
        strategy=strategy,
    )
    click.echo(f"Merged {source!r} into {destination!r}: {made.id}")


@store.command()
@click.option("--full", is_flag=True, help="Also hash every object's bytes.")
@pass_context
def fsck(ctx: _Context, full: bool) -> None:
    """Verify the repository's files (the embedded store only)."""
    from resources.versioning.local import LocalStore

    local = ctx.store
    if not isinstance(local, LocalStore):
        raise click.ClickException(
            "fsck checks the embedded store's files; a lakeFS server keeps its own storage"
        )
    try:
        report = local.fsck(ctx.repo, full=full)
    except CorruptionError as error:
        for problem in error.problems:
            click.echo(f"problem: {problem}", err=True)
        raise click.ClickException(
            f"repository {ctx.repo!r} failed fsck: {len(error.problems)} problem(s)"
        ) from None
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"Repository {report.repository!r} is sound ({'full' if full else 'quick'} check): "
        f"{report.refs} refs, {report.commits} commits, {report.trees} trees, "
        f"{report.objects} objects, {report.object_files} object files, "
        f"{report.staged} staged rows"
    )
