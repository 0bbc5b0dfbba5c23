"""What the review tools refuse, as exceptions whose messages a user can act on.

The web app turns them into 4xx pages and the CLI into one-line errors; lookups that fail are
`LookupError`s (404), bad input is a `ValueError` (400).
"""

from __future__ import annotations


class ReviewError(Exception):
    """Base of every error the review tools raise."""


class InvalidInputError(ReviewError, ValueError):
    """A reason, page number or threshold the tools will not accept."""


class UnknownFrameError(ReviewError, LookupError):
    """A frame id that is not in the frames table."""


class UnknownSliceError(ReviewError, LookupError):
    """A slice name with no slice table."""


class NoFramesError(ReviewError, LookupError):
    """The branch has no frames table yet (nothing was ingested)."""
