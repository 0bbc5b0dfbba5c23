"""What labeling interop refuses, as exceptions whose messages a user can act on.

The CLI turns them into one-line errors. A malformed file names the file and every offending
task, image or annotation (up to a handful), so a labeling team can fix its export and send it
again; nothing is uploaded while a file has a problem.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_LISTED = 10


class InteropError(Exception):
    """Base of every error of the labeling import and export."""


class MalformedFileError(InteropError, ValueError):
    """A Label Studio or COCO file that cannot become a label batch; `problems` are
    `where: why` lines (`task 12, annotation 1001: …`)."""

    def __init__(self, file: str, problems: Sequence[str]):
        file = file if file.isprintable() else repr(file)  # a file name with a newline
        self.file = file
        self.problems = list(problems)
        shown = "; ".join(self.problems[:MAX_LISTED])
        more = len(self.problems) - MAX_LISTED
        tail = f"; and {more} more problem(s)" if more > 0 else ""
        super().__init__(f"{file}: {shown}{tail}")


class InvalidRequestIdError(InteropError, ValueError):
    """A labeling request id that is not one the queue makes (`req-` and 12 hex digits)."""


class RequestNotFoundError(InteropError, LookupError):
    """A labeling request id with no `labeling/requests/<id>.parquet` on the ref."""


class BatchRejectedError(InteropError, ValueError):
    """A batch id that cannot be used (bad name, or already landed)."""
