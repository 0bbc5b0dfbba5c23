"""Reading and rewriting the hash-trie git trees that hold a commit's objects.

A commit rewrites only the trie nodes on the paths of the keys it changes (each ~16 entries),
serialized here exactly as git would and written as one pack: two fsyncs per commit however
many trees it touched, and a cost that follows the change.
"""

from __future__ import annotations

import re
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
    trie_location,
)

Entry = tuple[str, str]  # key, blob id (hex)


def lookup(tree: pygit2.Tree, key: str) -> str | None:
    """Blob id (hex) of `key` in a commit tree, or None."""
    try:
        return str(tree["/".join(tree_path(key))].id)
    except KeyError:
        return None


_ENTRY = re.compile(rb"((\d+) ([^\x00]*)\x00.{20})", re.DOTALL)
_TREE = b"40000"
_LEAF_DEPTH = 1 + TRIE_DEPTH  # root → top entry → trie digits → the tree holding the blobs
# name → (git's sort key, the entry's bytes as stored): a rewritten tree re-serializes only
# the entries that changed, so its cost does not grow with how full the trie nodes are.
RawEntries = dict[bytes, tuple[bytes, bytes]]


class TreeCache:
    """Raw bytes of recently written trees by id: every commit rewrites the top of the trie,
    so it need not read back what the commit before it wrote. Content-addressed, so an entry
    can never be stale; filled only once the trees are durable in a pack."""

    def __init__(self, capacity: int = 4096):
        self._data: OrderedDict[bytes, bytes] = OrderedDict()
        self._capacity = capacity

    def get(self, oid: bytes) -> bytes | None:
        return self._data.get(oid)

    def add(self, trees: dict[bytes, tuple[int, bytes]]) -> None:
        for oid, (_, data) in trees.items():
            self._data[oid] = data
            self._data.move_to_end(oid)
        while len(self._data) > self._capacity:
            self._data.popitem(last=False)


def read_entries(repo: pygit2.Repository, oid: bytes, cache: TreeCache | None = None) -> RawEntries:
    """A tree's entries parsed from its raw bytes: far cheaper than pygit2's per-entry objects,
    which is what keeps a commit's cost flat as the trees it rewrites fill up."""
    data = cache.get(oid) if cache is not None else None
    if data is None:
        data = repo.odb.read(pygit2.Oid(raw=oid))[1]
    return {
        name: (name + b"/" if mode == _TREE else name, entry)
        for entry, mode, name in _ENTRY.findall(data)
    }


def _entry(mode: bytes, name: bytes, oid: bytes) -> tuple[bytes, bytes]:
    return (name + b"/" if mode == _TREE else name, b"%s %s\x00%s" % (mode, name, oid))


def apply_changes(
    repo: pygit2.Repository,
    base: pygit2.Tree,
    changes: dict[str, str | None],
    cache: TreeCache | None = None,
) -> tuple[bytes, dict[bytes, tuple[int, bytes]]]:
    """The root tree id of `base` with `changes` (key → blob hex, None = delete) applied, and
    the new tree objects to store (raw oid → (TREE, bytes))."""
    buckets: dict[tuple[bytes, bytes], dict[bytes, bytes | None]] = {}
    for key, blob in changes.items():
        top, digits, leaf = trie_location(key)
        leaves = buckets.get((top, digits))
        if leaves is None:
            leaves = buckets[top, digits] = {}
        leaves[leaf] = bytes.fromhex(blob) if blob is not None else None
    plan: dict = {}
    for (top, digits), leaves in buckets.items():
        node = plan.setdefault(top, {})
        for level in range(TRIE_DEPTH - 1):
            node = node.setdefault(digits[level : level + 1], {})
        node[digits[-1:]] = leaves
    written: dict[bytes, tuple[int, bytes]] = {}
    root = _rewrite(repo, base.id.raw, plan, 0, written, cache)
    if root is None:
        data = b""
        root = object_oid(TREE, data)
        written[root] = (TREE, data)
    return root, written


def _rewrite(
    repo: pygit2.Repository,
    tree: bytes | None,
    plan: dict,
    depth: int,
    written: dict[bytes, tuple[int, bytes]],
    cache: TreeCache | None,
) -> bytes | None:
    if tree is None and depth == _LEAF_DEPTH:  # a new bucket (bulk uploads): blobs only
        data = b"".join(
            [b"100644 %s\x00%s" % (leaf, blob) for leaf, blob in sorted(plan.items()) if blob]
        )
        if not data:
            return None
        oid = object_oid(TREE, data)
        written[oid] = (TREE, data)
        return oid
    entries = read_entries(repo, tree, cache) if tree is not None else {}
    if depth == _LEAF_DEPTH:
        for leaf, blob in plan.items():
            if blob is None:
                entries.pop(leaf, None)
            else:
                entries[leaf] = (leaf, b"100644 %s\x00%s" % (leaf, blob))
    else:
        for name, child_plan in plan.items():
            current = entries.get(name)
            child = None
            if current is not None and current[1].startswith(b"40000 "):
                child = current[1][-20:]
            child_id = _rewrite(repo, child, child_plan, depth + 1, written, cache)
            if child_id is None:
                entries.pop(name, None)
            else:
                entries[name] = _entry(_TREE, name, child_id)
    if not entries:
        return None
    data = b"".join([entry for _, entry in sorted(entries.values())])
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
