"""Pointer records and the key → tree-path layout of the embedded store.

Every object is one git blob, a *pointer record*: a NUL-marked header (so libgit2 treats it as
binary and never text-merges two versions), a JSON line with checksum, size, content type and
user metadata, then the bytes themselves when the object is small. Large objects live in the
content-addressed object directory and the record only points to them. Identical content and
metadata give an identical blob id, which is why identical writes on two branches never
conflict.

Keys are spread over a fixed hash trie (fanout 16, depth 4) under their first path segment
(`raw/drives/d1.parquet` → `d.raw/3/f/a/9/drives%2Fd1.parquet`): a touched node holds ~16
entries whatever the repository's size, so a commit rewrites a bounded set of small trees and
its cost follows the change, not the size of the repository or of a flat prefix. The path of
a key depends on the key alone, which is what lets libgit2 three-way merge two branches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

MAGIC = b"FLP1\x00"
INLINE_MAX = 16 * 1024
TRIE_DEPTH = 4  # 65,536 leaf buckets per top-level segment: ~15 keys each at 1M keys
ROOT_FILES = "f"  # tree entry holding keys with no '/'
DIR_PREFIX = "d."


@dataclass(frozen=True)
class Pointer:
    sha256: str
    size: int
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    inline: bytes | None = None  # the content, for small objects

    def encode(self) -> bytes:
        plain = self.content_type.isascii() and self.content_type.isprintable()
        if not self.metadata and plain and not {'"', "\\"} & set(self.content_type):
            # Fast path (bulk uploads), byte-identical to the json.dumps form below.
            inline = "true" if self.inline is not None else "false"
            line = (
                f'{{"content_type":"{self.content_type}","inline":{inline},"metadata":{{}},'
                f'"sha256":"{self.sha256}","size":{self.size}}}'
            ).encode()
            return MAGIC + line + b"\n" + (self.inline or b"")
        header = {
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "metadata": dict(sorted(self.metadata.items())),
            "inline": self.inline is not None,
        }
        line = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        return MAGIC + line + b"\n" + (self.inline or b"")


def inline_record(data: bytes) -> bytes:
    """The pointer record of a small object with the default content type and no metadata:
    byte-identical to `Pointer(...).encode()`, without building one (bulk uploads)."""
    return (
        b'%s{"content_type":"application/octet-stream","inline":true,"metadata":{},'
        b'"sha256":"%s","size":%d}\n%s'
        % (
            MAGIC,
            hashlib.sha256(data).hexdigest().encode(),
            len(data),
            data,
        )
    )


def decode_pointer(raw: bytes) -> Pointer:
    if not raw.startswith(MAGIC):
        raise ValueError("not a fleetloop pointer record")
    end = raw.index(b"\n", len(MAGIC))
    header = json.loads(raw[len(MAGIC) : end])
    inline = raw[end + 1 :] if header["inline"] else None
    return Pointer(
        header["sha256"], header["size"], header["content_type"], header["metadata"], inline
    )


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("/", "%2F")


def _unescape(text: str) -> str:
    return text.replace("%2F", "/").replace("%25", "%")


def trie_of(key: str) -> tuple[str, ...]:
    return tuple(hashlib.sha1(key.encode()).hexdigest()[:TRIE_DEPTH])


def top_entry(key: str) -> str:
    """Name of the root tree entry that holds `key`."""
    head, sep, _ = key.partition("/")
    return DIR_PREFIX + _escape(head) if sep else ROOT_FILES


def tree_path(key: str) -> tuple[str, ...]:
    """(top entry, trie digits…, leaf name) of a key."""
    head, sep, rest = key.partition("/")
    if sep:
        return (DIR_PREFIX + _escape(head), *trie_of(key), _escape(rest))
    return (ROOT_FILES, *trie_of(key), _escape(key))


def trie_location(key: str) -> tuple[bytes, bytes, bytes]:
    """tree_path of a key as bytes: (top entry, the TRIE_DEPTH digits, leaf name)."""
    digits = hashlib.sha1(key.encode()).hexdigest()[:TRIE_DEPTH].encode()
    head, sep, rest = key.partition("/")
    if sep:
        return (DIR_PREFIX + _escape(head)).encode(), digits, _escape(rest).encode()
    return ROOT_FILES.encode(), digits, _escape(key).encode()


def key_of(top: str, leaf: str) -> str:
    if top == ROOT_FILES:
        return _unescape(leaf)
    return _unescape(top[len(DIR_PREFIX) :]) + "/" + _unescape(leaf)


def key_from_tree_path(path: str) -> str:
    """Inverse of tree_path for a 'top/bucket/leaf' string (as libgit2 reports paths)."""
    parts = path.split("/", TRIE_DEPTH + 1)
    return key_of(parts[0], parts[-1])


def tops_for_prefix(prefix: str) -> tuple[str | None, bool]:
    """Which root entry a listing prefix is confined to (None: several), and whether root
    files can match."""
    head, sep, _ = prefix.partition("/")
    if sep:
        return DIR_PREFIX + _escape(head), False
    return None, True
