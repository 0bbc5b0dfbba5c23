"""Validation of repository, branch and tag names, refs, object paths and the plain arguments
(metadata, messages), shared by backends.

The rules are lakeFS's (so a name valid here is valid on a lakeFS server) plus path hygiene:
no traversal, no absolute paths, no NUL, no empty segments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from resources.versioning.errors import InvalidArgumentError, InvalidNameError
from resources.versioning.records import MergeStrategy

_REPO = re.compile(r"[a-z0-9][a-z0-9-]{2,62}")
# ASCII only, as lakeFS's Go regexps are; every pattern is used with fullmatch, since `$`
# would also match before a trailing newline.
_BRANCH = re.compile(r"[A-Za-z0-9_][-A-Za-z0-9_]*")
_TAG = re.compile(r"[A-Za-z0-9_][-A-Za-z0-9_.]*")
_HEX = re.compile(r"[0-9a-f]+")
_REF = re.compile(r"([A-Za-z0-9_][-A-Za-z0-9_.]*)((?:[~^][0-9]*|[@$])*)")  # ~n / ^n / @ / $
# A ref is a file `refs/heads/<name>` whose update goes through `<name>.lock`, and the branch
# lock is `locks/<name>.lock`: the name plus ".lock" must fit in NAME_MAX (255 bytes).
MAX_REF_NAME = 250
MAX_PATH_BYTES = 1024


def check_repository_name(name: str) -> str:
    if not isinstance(name, str) or not _REPO.fullmatch(name):
        raise InvalidNameError(
            f"invalid repository name {name!r}: use 3-63 lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    return name


def check_branch_name(name: str) -> str:
    if not isinstance(name, str) or not _BRANCH.fullmatch(name):
        raise InvalidNameError(
            f"invalid branch name {name!r}: use ASCII letters, digits, '_' and '-', not "
            "starting with '-'"
        )
    if len(name) > MAX_REF_NAME:
        raise InvalidNameError(
            f"invalid branch name {name[:40]!r}…: {len(name)} characters, at most "
            f"{MAX_REF_NAME}; shorten it"
        )
    if _HEX.fullmatch(name) and len(name) >= 6:
        raise InvalidNameError(
            f"invalid branch name {name!r}: it looks like a commit id; add a non-hex character"
        )
    return name


def check_tag_name(name: str) -> str:
    if not isinstance(name, str) or not _TAG.fullmatch(name):
        raise InvalidNameError(
            f"invalid tag name {name!r}: use ASCII letters, digits, '_', '-' and '.', "
            "not starting with '-' or '.'"
        )
    if len(name) > MAX_REF_NAME:
        raise InvalidNameError(
            f"invalid tag name {name[:40]!r}…: {len(name)} characters, at most "
            f"{MAX_REF_NAME}; shorten it"
        )
    if not _git_ref_format_ok(name):
        raise InvalidNameError(
            f"invalid tag name {name!r}: git refuses '..' in a ref name and a name ending in "
            "'.' or '.lock'; change that part"
        )
    return name


def _git_ref_format_ok(name: str) -> bool:
    """git's check-ref-format rules that the character sets above leave open."""
    return ".." not in name and not name.endswith(".") and not name.endswith(".lock")


def check_ref(ref: str) -> str:
    """A ref expression: a branch, tag or commit id, then `~n` / `^n` (lakeFS also takes
    `@` and `$`). A malformed one is a bad name, never an unknown ref."""
    match = _REF.fullmatch(ref) if isinstance(ref, str) and len(ref) <= 255 else None
    if match is None or len(match[1]) > MAX_REF_NAME or not _git_ref_format_ok(match[1]):
        raise InvalidNameError(
            f"invalid ref {ref!r}: use a branch, tag or commit id, optionally followed by ~n or ^n"
        )
    return ref


# A plain ASCII path of non-empty segments: the common case, checked in one regex match (bulk
# uploads check 100k paths); anything else goes through the explaining checks below.
_PLAIN_PATH = re.compile(r"[^\x00-\x1f/]+(?:/[^\x00-\x1f/]+)*")


def check_path(path: str) -> str:
    """Return the path if it is a safe object key, else raise InvalidNameError."""
    if (
        type(path) is str
        and path.isascii()
        and len(path) <= MAX_PATH_BYTES
        and _PLAIN_PATH.fullmatch(path)
        and "/./" not in f"/{path}/"
        and "/../" not in f"/{path}/"
        and "git" not in path.lower()
    ):
        return path
    if not isinstance(path, str) or not path:
        raise InvalidNameError(f"invalid object path {path!r}: it must be a non-empty string")
    if "\x00" in path:
        raise InvalidNameError(
            f"invalid object path {path!r}: it contains a NUL character; remove it"
        )
    if path.startswith("/"):
        raise InvalidNameError(
            f"invalid object path {path!r}: paths are relative to the repository root; drop the "
            "leading '/'"
        )
    try:
        encoded = path.encode()
    except UnicodeEncodeError:
        raise InvalidNameError(
            f"invalid object path {path!r}: it is not valid Unicode (a lone surrogate?)"
        ) from None
    if len(encoded) > MAX_PATH_BYTES:
        raise InvalidNameError(
            f"invalid object path {path[:40]!r}…: longer than 1024 bytes; shorten it"
        )
    for segment in path.split("/"):
        if segment == "":
            raise InvalidNameError(
                f"invalid object path {path!r}: it has an empty segment ('//', or a '/' at the "
                "end); remove it"
            )
        if segment in (".", ".."):
            raise InvalidNameError(
                f"invalid object path {path!r}: '.' and '..' segments are not allowed; give "
                "the path from the repository root"
            )
        if _git_reserved(segment):
            raise InvalidNameError(
                f"invalid object path {path!r}: git reserves the segment {segment!r} (its own "
                "'.git' directory, under any spelling); rename it"
            )
    return path


# Characters HFS+ ignores in names, so that '.g\u200cit' opens '.git' there.
_HFS_IGNORED = dict.fromkeys(
    [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)
_SHORT_NAME = re.compile(r"git~[0-9]+")


def _git_reserved(segment: str) -> bool:
    """Whether libgit2 refuses `segment` as a tree path component in an index (a three-way
    merge builds one): '.git' in any case, with the trailing dots and spaces and the ':stream'
    suffix NTFS ignores, its 8.3 short name 'git~N', and the HFS+ spellings."""
    name = segment.translate(_HFS_IGNORED).lower().rstrip(". ")
    return name == ".git" or name.startswith(".git:") or bool(_SHORT_NAME.fullmatch(name))


def check_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a path that may end with '/'."""
    if prefix == "":
        return prefix
    check_path(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Commit or object metadata as a new dict, if it maps strings to strings."""
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidArgumentError(
            f"metadata must be a mapping of strings to strings, not {type(metadata).__name__}"
        )
    items = dict(metadata or {})
    for key, value in items.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArgumentError(
                f"metadata must map strings to strings; got {key!r}: {value!r}"
            )
    return items


def check_text(what: str, value: str | None, *, optional: bool = False) -> None:
    if not isinstance(value, str) and not (optional and value is None):
        raise InvalidArgumentError(f"{what} must be a string, not {type(value).__name__}")


def check_strategy(strategy: MergeStrategy | str | None) -> MergeStrategy | None:
    """A merge strategy by value ('source-wins' / 'dest-wins'), or None for none."""
    if strategy is None:
        return None
    try:
        return MergeStrategy(strategy)
    except ValueError:
        raise InvalidArgumentError(
            f"unknown merge strategy {strategy!r}: use 'source-wins' or 'dest-wins'"
        ) from None
