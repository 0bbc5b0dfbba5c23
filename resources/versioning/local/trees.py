"""Reading and rewriting the bucketed git trees that hold a commit's objects.

A commit of n changes rewrites at most n bucket trees (each ~1/4096 of its top-level
segment), the top-level trees they sit in and the root: libgit2's TreeBuilder does the
copying in C, so the cost follows the change.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Iterator

import pygit2
from pygit2.enums import FileMode

from resources.versioning.local.pointers import (
    DIR_PREFIX,
    ROOT_FILES,
    key_of,
    tops_for_prefix,
    tree_path,
)

Entry = tuple[str, str]  # key, blob id (hex)


def lookup(tree: pygit2.Tree, key: str) -> str | None:
    """Blob id (hex) of `key` in a commit tree, or None."""
    top, bucket, leaf = tree_path(key)
    try:
        return str(tree[f"{top}/{bucket}/{leaf}"].id)
    except KeyError:
        return None


def _subtree(repo: pygit2.Repository, tree: pygit2.Tree | None, name: str) -> pygit2.Tree | None:
    if tree is None:
        return None
    try:
        entry = tree[name]
    except KeyError:
        return None
    return repo[entry.id]


def apply_changes(
    repo: pygit2.Repository, base: pygit2.Tree, changes: dict[str, str | None]
) -> pygit2.Oid:
    """Write the tree of `base` with `changes` (key → blob id, None = delete) applied."""
    grouped: dict[str, dict[str, dict[str, str | None]]] = defaultdict(lambda: defaultdict(dict))
    for key, blob in changes.items():
        top, bucket, leaf = tree_path(key)
        grouped[top][bucket][leaf] = blob
    root = repo.TreeBuilder(base)
    for top, buckets in grouped.items():
        top_tree = _subtree(repo, base, top)
        top_builder = repo.TreeBuilder(top_tree) if top_tree is not None else repo.TreeBuilder()
        for bucket, leaves in buckets.items():
            bucket_tree = _subtree(repo, top_tree, bucket)
            builder = (
                repo.TreeBuilder(bucket_tree) if bucket_tree is not None else repo.TreeBuilder()
            )
            for leaf, blob in leaves.items():
                if blob is None:
                    if builder.get(leaf) is not None:
                        builder.remove(leaf)
                else:
                    builder.insert(leaf, pygit2.Oid(hex=blob), FileMode.BLOB)
            _set(top_builder, bucket, builder)
        _set(root, top, top_builder)
    return root.write()


def _set(parent: pygit2.TreeBuilder, name: str, child: pygit2.TreeBuilder) -> None:
    if len(child):
        parent.insert(name, child.write(), FileMode.TREE)
    elif parent.get(name) is not None:
        parent.remove(name)


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
        entries = [
            (key_of(top, leaf.name), str(leaf.id)) for bucket in tree for leaf in repo[bucket.id]
        ]
        entries.sort()
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
        for bucket in repo[top.id]:
            for leaf in repo[bucket.id]:
                yield key_of(top.name, leaf.name), str(leaf.id)
