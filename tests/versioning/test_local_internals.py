"""LocalStore internals the contract suite cannot see: the on-disk format is valid git, packs
written by hand are readable, large objects are read straight from their file."""

from __future__ import annotations

import hashlib
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


def _snapshot(root):
    """Every file under the repository with its bytes' hash (SQLite's WAL side files aside:
    they change on reads too)."""
    import hashlib

    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm")) and "locks" not in path.parts
    }


def test_bad_input_changes_nothing_on_disk(local):
    from resources.versioning import StoreError

    local.put("drive-data", "main", "raw/a.txt", b"a")
    local.commit("drive-data", "main", "base")
    local.create_tag("drive-data", "v1", "main")
    local.create_branch("drive-data", "exp", "main")
    local.put("drive-data", "exp", "raw/a.txt", b"exp")
    local.commit("drive-data", "exp", "exp")
    local.put("drive-data", "main", "raw/a.txt", b"main")
    local.commit("drive-data", "main", "main")
    local.put("drive-data", "main", "dirty.txt", b"staged")
    before = _snapshot(local.root)
    bad_calls = [
        lambda: local.put("drive-data", "main", "../escape", b"x"),
        lambda: local.put("drive-data", "main", "/abs/path", b"x"),
        lambda: local.put("drive-data", "main", "a//b", b"x"),
        lambda: local.put("drive-data", "main", "nul\x00byte", b"x"),
        lambda: local.put("drive-data", "no-such-branch", "a.txt", b"x"),
        lambda: local.put("drive-data", "main", "meta.txt", b"x", metadata={"k": 1}),
        lambda: local.create_branch("drive-data", "bad name", "main"),
        lambda: local.create_branch("drive-data", "ok-name", "no-such-ref"),
        lambda: local.create_tag("drive-data", "v1", "exp"),
        lambda: local.merge("drive-data", "exp", "main"),  # dirty destination
        lambda: local.merge("drive-data", "exp", "main", strategy="theirs"),
        lambda: local.delete("drive-data", "main", "missing.txt"),
        lambda: local.create_repository("Bad_Repo"),
        lambda: local.get_commit("drive-data", "main~99"),
        lambda: local.get_commit("drive-data", "main~x"),
        lambda: local.create_branch("drive-data", "b" * 256, "main"),
        lambda: local.create_tag("drive-data", "v2", "bad ref"),
        lambda: local.put("drive-data", "main", "str.txt", "not bytes"),
        lambda: local.put("drive-data", "main", "bad\udc80", b"x"),
        lambda: local.put_many("drive-data", "main", [("ok.txt", b"x"), ("a//b", b"x")]),
        lambda: local.reset("drive-data", "main", "../"),
        lambda: list(local.list_objects("drive-data", "main", "/abs/")),
        lambda: local.diff("drive-data", "main", "exp", prefix="a//"),
        lambda: local.delete_tag("drive-data", "no-such-tag"),
        lambda: local.delete_branch("drive-data", "main"),
        lambda: local.revert("drive-data", "exp", "exp", parent_number=3),
        lambda: local.create_repository("drive-data"),
        lambda: local.create_repository("new-repo", default_branch="bad name"),
        lambda: local.commit("drive-data", "exp", "nothing staged"),
        lambda: local.merge("drive-data", "no-such-ref", "exp"),
    ]
    for call in bad_calls:
        with pytest.raises(StoreError):
            call()
    assert _snapshot(local.root) == before
    local.reset("drive-data", "main")
    with pytest.raises(StoreError) as conflict:
        local.merge("drive-data", "exp", "main")
    assert "raw/a.txt" in str(conflict.value)
    assert local.get("drive-data", "main", "raw/a.txt") == b"main"


def test_inline_record_is_the_pointer_encoding():
    from resources.versioning.local.pointers import inline_record

    for data in (b"", b"x", bytes(range(256)) * 10):
        expected = Pointer(
            hashlib.sha256(data).hexdigest(), len(data), "application/octet-stream", {}, data
        ).encode()
        assert inline_record(data) == expected


@pytest.mark.parametrize(
    "path",
    ["a", "a/b.png", "x/100%/y", "with space/é.txt", "tab\there", ".hidden/..dots/x.", "a" * 1024],
)
def test_fast_path_check_accepts_exactly_what_the_full_check_accepts(path):
    from resources.versioning.names import check_path

    assert check_path(path) == path


def test_path_with_a_lone_surrogate_is_an_invalid_name(local):
    from resources.versioning import InvalidNameError

    with pytest.raises(InvalidNameError, match="not valid Unicode"):
        local.put("drive-data", "main", "bad\udc80name", b"x")
    assert local.uncommitted("drive-data", "main") == []


def test_commit_drops_only_the_staged_rows_it_read(local):
    """A write that lands between a commit's snapshot of the staging area and its clean-up
    stays staged (the commit did not include it)."""
    staging = local._repo("drive-data").staging
    staging.stage("main", [("a.txt", "1" * 40), ("b.txt", "2" * 40)])
    staging.stage("main", [("c.txt", "3" * 40)])
    snapshot = staging.rows("main")
    staging.stage("main", [("b.txt", "4" * 40)])  # rewritten after the snapshot
    staging.stage("main", [("d.txt", "5" * 40)])  # new after the snapshot
    staging.drop("main", snapshot)
    assert [(path, blob) for path, blob, _, _ in staging.rows("main")] == [
        ("b.txt", "4" * 40),
        ("d.txt", "5" * 40),
    ]


def test_packs_get_a_multi_pack_index_and_stay_readable(local, monkeypatch):
    from resources.versioning.local import midx

    if not midx.available():
        pytest.skip("libgit2 cannot be loaded through ctypes here")
    monkeypatch.setattr(midx, "MIDX_AFTER", 4)
    git_dir = local.root / "drive-data" / "git"
    (git_dir / "objects" / "pack" / "multi-pack-index.lock").write_bytes(b"killed writer")
    for batch in range(3):  # each batch: a blob pack and a tree pack
        items = [(f"b{batch}/{i}.txt", b"%d-%d" % (batch, i)) for i in range(50)]
        local.put_many("drive-data", "main", items)
        local.commit("drive-data", "main", f"batch {batch}")
    assert (git_dir / "objects" / "pack" / "multi-pack-index").exists()
    assert midx.packs_outside(git_dir) < 4
    assert midx.verify(git_dir) is None
    fresh = LocalStore(local.root)  # a new process reads through the index
    assert fresh.get("drive-data", "main", "b0/7.txt") == b"0-7"
    assert fresh.get("drive-data", "main", "b2/49.txt") == b"2-49"
    assert fresh.fsck("drive-data", full=True).ok
    result = subprocess.run(
        ["git", "--git-dir", str(git_dir), "multi-pack-index", "verify"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_damaged_multi_pack_index_is_found_by_fsck(local):
    from resources.versioning import CorruptionError
    from resources.versioning.local import midx

    if not midx.available():
        pytest.skip("libgit2 cannot be loaded through ctypes here")
    local.put_many("drive-data", "main", [("a.txt", b"a")])
    local.commit("drive-data", "main", "a")
    git_dir = local.root / "drive-data" / "git"
    assert midx.write(git_dir, local.root / "drive-data" / "locks")
    index = git_dir / "objects" / "pack" / "multi-pack-index"
    data = bytearray(index.read_bytes())
    data[40] ^= 0xFF
    index.chmod(0o644)
    index.write_bytes(bytes(data))
    with pytest.raises(CorruptionError, match="multi-pack-index is damaged"):
        LocalStore(local.root).fsck("drive-data")
