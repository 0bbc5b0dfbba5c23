"""`fleetloop labels export` and `fleetloop labels import`: labeling by a real team.

`export` writes a labeling request (`labeling/requests/<id>.parquet` on the branch) as a folder
of PNGs plus Label Studio tasks or a COCO file; `import` lands a Label Studio JSON export or a
COCO file as a label batch on the landing branch, where the label sensor validates and
publishes it. The store comes from `resources/versioning/factory.py`. Errors a user can fix end
the command with status 1 and say what is wrong, naming each bad task or annotation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from resources.versioning.factory import default_repository, open_store

FORMAT_CHOICE = click.Choice(["label-studio", "coco"])
repo_option = click.option(
    "--repo",
    "-r",
    default=default_repository,
    show_default="$FLEETLOOP_REPOSITORY or drive-data",
    help="Repository holding the fleet.",
)
backend_option = click.option(
    "--backend",
    type=click.Choice(["local", "lakefs"]),
    default=None,
    help="Store backend (default: $FLEETLOOP_STORE, then local).",
)
ref_option = click.option("--ref", default="main", show_default=True, help="Branch to read.")


@contextmanager
def _errors() -> Iterator[None]:
    from resources.interop import InteropError, MalformedFileError
    from resources.versioning import StoreError

    try:
        yield
    except MalformedFileError as error:
        if len(error.problems) == 1:
            raise click.ClickException(
                f"{error.file}: {error.problems[0]}; nothing imported: fix the file and import "
                "it again"
            ) from None
        listing = "\n".join(f"  {problem}" for problem in error.problems[:20])
        more = len(error.problems) - 20
        tail = f"\n  … and {more} more" if more > 0 else ""
        raise click.ClickException(
            f"{error.file}: {len(error.problems)} problem(s), nothing imported:\n{listing}{tail}"
        ) from None
    except (InteropError, StoreError) as error:
        raise click.ClickException(" ".join(str(error).split())) from None


@click.group()
def labels() -> None:
    """Send labeling requests to a labeling team and bring their labels back."""


@labels.command("export")
@click.argument("request_id")
@click.option("--format", "-f", "fmt", type=FORMAT_CHOICE, required=True, help="File format.")
@click.option(
    "--out", "-o", type=click.Path(file_okay=False), required=True, help="Folder to write."
)
@click.option(
    "--image-prefix",
    default=None,
    help="What tasks put before <frame_id>.png in data.image (default: Label Studio's "
    "local-files URL of images/, with --out as the document root).",
)
@click.option(
    "--predictions/--no-predictions",
    default=None,
    help="Pre-annotate with the production model's boxes (default: on for label-studio, off "
    "for coco, where they would come back as labels).",
)
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@repo_option
@backend_option
@ref_option
def export(request_id, fmt, out, image_prefix, predictions, min_score, repo, backend, ref) -> None:
    """Write labeling request REQUEST_ID (e.g. req-0123456789ab) for a labeling team."""
    with _errors():
        from resources.interop import export_request

        result = export_request(
            open_store(backend),
            repo,
            request_id,
            out,
            formats=[fmt],
            ref=ref,
            image_prefix=image_prefix,
            predictions=predictions,
            min_score=min_score,
        )
    click.echo(
        f"request {result.request_id}: {result.frames} frames, {result.predictions} predicted "
        f"boxes → {result.directory} ({', '.join(result.files)}) from {result.commit[:12]}"
    )


@labels.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "-f", "fmt", type=FORMAT_CHOICE, required=True, help="File format.")
@click.option("--batch-id", "-b", required=True, help="Name of the new label batch.")
@click.option("--request-id", default=None, help="The request it answers (default: from tasks).")
@click.option("--labeler", default=None, help="Who labeled (default: as the file says).")
@repo_option
@backend_option
@ref_option
def import_(file, fmt, batch_id, request_id, labeler, repo, backend, ref) -> None:
    """Land FILE (a Label Studio JSON export or a COCO file) as label batch --batch-id."""
    with _errors():
        from resources.interop import import_labels

        result = import_labels(
            open_store(backend),
            repo,
            file,
            fmt,
            batch_id,
            request_id=request_id,
            labeler=labeler,
            ref=ref,
        )
    answers = f" answering {result.request_id}" if result.request_id else ""
    dropped = f", {result.duplicates} repeated boxes dropped" if result.duplicates else ""
    click.echo(
        f"batch {result.batch_id}{answers}: {result.frames} frames, {result.boxes} boxes "
        f"({result.skipped} tasks skipped{dropped}) by {result.labeler} landed in "
        f"{result.commit[:12]}; the label sensor validates and publishes it"
    )
