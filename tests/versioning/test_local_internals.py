"""LocalStore internals the contract suite cannot see: the on-disk format is valid git, packs
written by hand are readable, large objects are read straight from their file."""

from __future__ import annotations

import subprocess

import pytest

from resources.versioning.local import LocalStore
from resources.versioning.local.pointers import (
    Pointer,
    decode_pointer,
    key_from_tree_path,
    tree_path,
)


@pytest.fixture
def local(tmp_path):
    store = LocalStore(tmp_path / "store")
    store.create_repository("drive-data")
    return store


def test_bulk_pack_and_trees_pass_git_fsck(local):
    items = [(f"images/{i:06d}.png", b"png-%d" % i) for i in range(3000)]
    items.append(("images/big.bin", bytes(range(256)) * 200))  # large: object directory
    assert local.put_many("drive-data", "main", items) == len(items)
    local.commit("drive-data", "main", "bulk")
    git_dir = local.root / "drive-data" / "git"
    result = subprocess.run(
        ["git", "--git-dir", str(git_dir), "fsck", "--full", "--strict"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert local.get("drive-data", "main", "images/002999.png") == b"png-2999"
    assert local.get("drive-data", "main", "images/big.bin") == bytes(range(256)) * 200


def test_large_object_is_read_from_its_own_file(local, tmp_path):
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"x" * 3_000_000)
    with payload.open("rb") as handle:
        local.put("drive-data", "main", "raw/big.bin", handle)
    local.commit("drive-data", "main", "big")
    path = local.local_path("drive-data", "main", "raw/big.bin")
    assert path is not None and path.read_bytes() == payload.read_bytes()
    assert local.local_path("drive-data", "main", "raw/big.bin") == path
    local.put("drive-data", "main", "raw/small.txt", b"tiny")
    assert local.local_path("drive-data", "main", "raw/small.txt") is None


def test_pointer_fast_path_matches_json_encoding():
    fast = Pointer("ab" * 32, 4, "text/plain", {}, b"data").encode()
    slow = Pointer("ab" * 32, 4, "text/plain", {"k": "v"}, b"data").encode()
    assert decode_pointer(fast).inline == b"data"
    assert decode_pointer(slow).metadata == {"k": "v"}
    assert decode_pointer(Pointer("ab" * 32, 4, 'odd"type', {}, None).encode()).content_type == (
        'odd"type'
    )


@pytest.mark.parametrize("key", ["a.txt", "raw/drives/d1.parquet", "x/100%/y%2F.bin"])
def test_tree_layout_round_trips(key):
    assert key_from_tree_path("/".join(tree_path(key))) == key


def test_rewriting_same_bytes_is_an_empty_commit(local):
    local.put("drive-data", "main", "a.txt", b"same")
    local.commit("drive-data", "main", "first")
    local.put("drive-data", "main", "a.txt", b"same")
    assert local.uncommitted("drive-data", "main") == []
    from resources.versioning import EmptyCommitError

    with pytest.raises(EmptyCommitError):
        local.commit("drive-data", "main", "again")
