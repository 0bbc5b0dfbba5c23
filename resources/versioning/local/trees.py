"""Reading and rewriting the hash-trie git trees that hold a commit's objects.

A commit rewrites only the trie nodes on the paths of the keys it changes (each ~16 entries),
serialized here exactly as git would and written as one pack: two fsyncs per commit however
many trees it touched, and a cost that follows the change.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import pygit2

from resources.versioning.local.packs import TREE, object_oid
from resources.versioning.local.pointers import (
    DIR_PREFIX,
    ROOT_FILES,
    TRIE_DEPTH,
    key_of,
    tops_for_prefix,
    tree_path,
)

Entry = tuple[str, str]  # key, blob id (hex)
_TREE_MODE = 0o040000
_BLOB_MODE = 0o100644


def lookup(tree: pygit2.Tree, key: str) -> str | None:
    """Blob id (hex) of `key` in a commit tree, or None."""
    try:
        return str(tree["/".join(tree_path(key))].id)
    except KeyError:
        return None


def serialize_tree(entries: dict[str, tuple[int, bytes]]) -> bytes:
    """Git's tree encoding; names sort as git sorts them (a tree as if it ended in '/')."""

    def order(name: str) -> bytes:
        return (name + "/" if entries[name][0] == _TREE_MODE else name).encode()

    return b"".join(
        b"%o %s\x00%s" % (entries[name][0], name.encode(), entries[name][1])
        for name in sorted(entries, key=order)
    )


class _Node:
    __slots__ = ("children", "leaves")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.leaves: dict[str, str | None] = {}


def apply_changes(
    repo: pygit2.Repository, base: pygit2.Tree, changes: dict[str, str | None]
) -> tuple[bytes, dict[bytes, tuple[int, bytes]]]:
    """The root tree id of `base` with `changes` (key → blob hex, None = delete) applied, and
    the new tree objects to store (raw oid → (TREE, bytes))."""
    plan = _Node()
    for key, blob in changes.items():
        *dirs, leaf = tree_path(key)
        node = plan
        for name in dirs:
            node = node.children.setdefault(name, _Node())
        node.leaves[leaf] = blob
    written: dict[bytes, tuple[int, bytes]] = {}
    root = _rewrite(repo, base, plan, written)
    if root is None:
        data = b""
        root = object_oid(TREE, data)
        written[root] = (TREE, data)
    return root, written


def _rewrite(
    repo: pygit2.Repository,
    tree: pygit2.Tree | None,
    plan: _Node,
    written: dict[bytes, tuple[int, bytes]],
) -> bytes | None:
    entries: dict[str, tuple[int, bytes]] = (
        {entry.name: (entry.filemode, entry.id.raw) for entry in tree} if tree is not None else {}
    )
    for name, child_plan in plan.children.items():
        child = repo[entries[name][1].hex()] if name in entries else None
        child_id = _rewrite(repo, child, child_plan, written)
        if child_id is None:
            entries.pop(name, None)
        else:
            entries[name] = (_TREE_MODE, child_id)
    for leaf, blob in plan.leaves.items():
        if blob is None:
            entries.pop(leaf, None)
        else:
            entries[leaf] = (_BLOB_MODE, bytes.fromhex(blob))
    if not entries:
        return None
    data = serialize_tree(entries)
    oid = object_oid(TREE, data)
    written[oid] = (TREE, data)
    return oid


def _leaves(repo: pygit2.Repository, tree: pygit2.Tree, depth: int) -> Iterator[pygit2.Object]:
    if depth == 0:
        yield from tree
        return
    for child in tree:
        yield from _leaves(repo, repo[child.id], depth - 1)


class KeyIndex:
    """Sorted (key, blob) lists per top-level tree, cached by tree id (trees are immutable)."""

    def __init__(self, capacity: int = 32):
        self._cache: OrderedDict[str, list[Entry]] = OrderedDict()
        self._capacity = capacity

    def _top_entries(self, repo: pygit2.Repository, top: str, tree: pygit2.Tree) -> list[Entry]:
        cache_key = str(tree.id)
        if cache_key in self._cache:
            self._cache.move_to_end(cache_key)
            return self._cache[cache_key]
        entries = sorted(
            (key_of(top, leaf.name), str(leaf.id)) for leaf in _leaves(repo, tree, TRIE_DEPTH)
        )
        self._cache[cache_key] = entries
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return entries

    def entries(self, repo: pygit2.Repository, root: pygit2.Tree, prefix: str) -> list[Entry]:
        """All (key, blob) under `prefix` in a commit tree, sorted by key."""
        only_top, root_files = tops_for_prefix(prefix)
        found: list[Entry] = []
        for entry in root:
            name = entry.name
            if only_top is not None and name != only_top:
                continue
            if name == ROOT_FILES and not root_files:
                continue
            if name != ROOT_FILES and only_top is None:
                head = key_of(name, "")[:-1]
                if not (head + "/").startswith(prefix):
                    continue
            if name.startswith(DIR_PREFIX) or name == ROOT_FILES:
                found.extend(
                    item
                    for item in self._top_entries(repo, name, repo[entry.id])
                    if item[0].startswith(prefix)
                )
        found.sort()
        return found


def iter_blobs(repo: pygit2.Repository, root: pygit2.Tree) -> Iterator[Entry]:
    """Every (key, blob) of a commit tree, unordered (for fsck)."""
    for top in root:
        for leaf in _leaves(repo, repo[top.id], TRIE_DEPTH):
            yield key_of(top.name, leaf.name), str(leaf.id)
