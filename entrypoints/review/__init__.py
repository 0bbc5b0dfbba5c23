"""Human review: people look at the production model's boxes and flag frames that need a second
look. `create_app` builds the local review page, `flag_frame` records a flag (the CLI's
`fleetloop flag` uses it too); flags are rows in the catalog (`Catalog.add_flag`).
"""

from entrypoints.review.app import create_app
from entrypoints.review.errors import (
    InvalidInputError,
    NoFramesError,
    ReviewError,
    UnknownFrameError,
    UnknownSliceError,
)
from entrypoints.review.flagging import MODEL_NAME, default_reviewer, flag_frame
from entrypoints.review.frames import FrameSource

__all__ = [
    "MODEL_NAME",
    "FrameSource",
    "InvalidInputError",
    "NoFramesError",
    "ReviewError",
    "UnknownFrameError",
    "UnknownSliceError",
    "create_app",
    "default_reviewer",
    "flag_frame",
]
