"""`LocalStore.fsck`: a sound repository passes with honest counts, and each kind of damage to
its files is found and named."""

from __future__ import annotations

import sqlite3

import pygit2
import pytest

from resources.versioning import CorruptionError
from resources.versioning.local import LocalStore
from resources.versioning.local.repository import commit_id_of

REPO = "drive-data"
BIG = bytes(range(256)) * 100  # 25.6 kB: stored in the object directory, not inline


@pytest.fixture
def local(tmp_path):
    store = LocalStore(tmp_path / "store")
    store.create_repository(REPO)
    store.put_many(REPO, "main", [(f"images/{i:04d}.png", b"png-%d" % i) for i in range(300)])
    store.put(REPO, "main", "raw/big.bin", BIG)
    store.put(REPO, "main", "top.txt", b"at the root")
    store.commit(REPO, "main", "first", metadata={"run": "1"})
    store.create_tag(REPO, "v1", "main")
    store.create_branch(REPO, "exp", "main")
    store.put(REPO, "exp", "images/0000.png", b"changed")
    store.commit(REPO, "exp", "second")
    store.put(REPO, "exp", "staged.txt", b"not committed")
    return store


def git_dir(store: LocalStore):
    return store.root / REPO / "git"


def object_file(store: LocalStore, path: str):
    return store.local_path(REPO, "main", path)


def damaged(store: LocalStore, *, full: bool = False) -> list[str]:
    with pytest.raises(CorruptionError) as caught:
        store.fsck(REPO, full=full)
    assert caught.value.problems and str(caught.value).startswith(f"repository {REPO!r}")
    return caught.value.problems


def test_sound_repository_passes_with_what_it_checked(local):
    report = local.fsck(REPO, full=True)
    assert report.ok and report.problems == () and report.warnings == ()
    assert (report.refs, report.commits) == (3, 3)  # main, exp, v1; created + first + second
    assert report.objects == 302 + 1 + 1  # committed records, exp's change, the staged one
    assert report.object_files == 1
    assert report.staged == 1
    assert report.trees > 300  # every trie node on the way to 302 keys, in two versions


def test_missing_object_file_is_found(local):
    path = object_file(local, "raw/big.bin")
    path.unlink()
    problems = damaged(local)
    assert any("raw/big.bin" in p and "missing" in p for p in problems)


def test_truncated_object_file_is_found(local):
    path = object_file(local, "raw/big.bin")
    path.chmod(0o644)
    path.write_bytes(BIG[:-1])
    assert any(f"{len(BIG) - 1} bytes" in p for p in damaged(local))


def test_flipped_byte_in_an_object_file_is_found_by_full_only(local):
    path = object_file(local, "raw/big.bin")
    path.chmod(0o644)
    path.write_bytes(b"X" + BIG[1:])
    assert local.fsck(REPO).ok  # same size: only hashing can tell
    assert any("does not match its checksum" in p for p in damaged(local, full=True))


def test_branch_pointing_at_a_missing_commit_is_found(local):
    (git_dir(local) / "refs" / "heads" / "lost").write_text("ab" * 20 + "\n")
    assert any("'refs/heads/lost'" in p and "missing" in p for p in damaged(local))


def test_missing_commit_object_is_found(local):
    head = local._repo(REPO).branch_commit("exp").id
    loose = git_dir(local) / "objects" / str(head)[:2] / str(head)[2:]
    loose.unlink()
    problems = damaged(local)
    assert any(str(head) in p and "refs/heads/exp" in p for p in problems)


def test_corrupt_pack_is_found(local):
    packs = sorted(
        (git_dir(local) / "objects" / "pack").glob("*.pack"), key=lambda p: p.stat().st_size
    )
    pack = packs[-1]  # the biggest: the 300 bulk records
    data = bytearray(pack.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = b"\xff" * 8
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    assert damaged(local)


def test_wrong_trie_bucket_is_found(local):
    """A key filed under another bucket cannot be found by look-ups: fsck says so."""
    r = local._repo(REPO)
    blob = r.git.create_blob(b"misfiled")
    leaf = r.git.TreeBuilder()
    leaf.insert("misfiled.png", blob, pygit2.enums.FileMode.BLOB)
    tree = leaf.write()
    for _ in range(3):  # a bucket path of the wrong digits
        builder = r.git.TreeBuilder()
        builder.insert("0", tree, pygit2.enums.FileMode.TREE)
        tree = builder.write()
    top = r.git.TreeBuilder()
    top.insert("0", tree, pygit2.enums.FileMode.TREE)  # images/misfiled.png hashes elsewhere
    root = r.git.TreeBuilder()
    root.insert("d.images", top.write(), pygit2.enums.FileMode.TREE)
    head = r.branch_commit("main")
    created = r.create_commit("main", head.id, "bad", None, root.write(), [head.id])
    assert created is not None
    assert any("wrong trie bucket" in p for p in damaged(local))


def test_commit_missing_from_the_id_index_is_found(local):
    head = local._repo(REPO).branch_commit("main").id
    db = sqlite3.connect(local.root / REPO / "staging.db")
    db.execute("DELETE FROM commit_ids WHERE id = ?", (commit_id_of(head),))
    db.commit()
    db.close()
    assert any("commit-id index" in p for p in damaged(local))


def test_damaged_staging_database_is_found(local):
    local._repo(REPO).staging.close()
    path = local.root / REPO / "staging.db"
    for side in ("staging.db-wal", "staging.db-shm"):
        (local.root / REPO / side).unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    assert any("staging" in p for p in damaged(LocalStore(local.root)))


def test_unreadable_repository_settings_raise_corruption(local):
    (local.root / REPO / "repository.json").write_text("{not json")
    with pytest.raises(CorruptionError, match="cannot be opened"):
        LocalStore(local.root).fsck(REPO)


def test_unknown_repository_is_not_found_not_corrupt(local):
    from resources.versioning import RepositoryNotFoundError

    with pytest.raises(RepositoryNotFoundError):
        local.fsck("no-such-repo")


def test_stale_ref_lock_is_a_warning_and_the_next_commit_clears_it(local):
    """A process killed while libgit2 moved a ref leaves `<ref>.lock`; it must not block the
    branch forever."""
    lock = git_dir(local) / "refs" / "heads" / "main.lock"
    lock.write_text("0" * 40 + "\n")
    report = local.fsck(REPO)
    assert report.ok and any("main.lock" in w for w in report.warnings)
    local.put(REPO, "main", "after.txt", b"after")
    local.commit(REPO, "main", "after the crash")
    assert not lock.exists()
    assert local.get(REPO, "main", "after.txt") == b"after"


def test_stale_tag_lock_does_not_block_creating_the_tag(local):
    (git_dir(local) / "refs" / "tags" / "v2.lock").write_text("0" * 40 + "\n")
    local.create_tag(REPO, "v2", "main")
    assert [t.name for t in local.list_tags(REPO)] == ["v1", "v2"]


def test_staged_rows_of_a_deleted_branch_warn_and_do_not_reach_a_new_branch(local):
    """delete_branch removes the ref, then the rows: a crash in between leaves rows that a
    branch created later under the same name must not inherit."""
    staging = local._repo(REPO).staging
    staging.stage("gone", [("ghost.txt", None)])
    report = local.fsck(REPO)
    assert report.ok and any("'gone'" in w for w in report.warnings)
    local.create_branch(REPO, "gone", "main")
    assert local.uncommitted(REPO, "gone") == []
    assert local.fsck(REPO).warnings == ()


def test_leftover_temp_files_are_warnings(local):
    tmp = local.root / REPO / "objects" / "tmp"
    tmp.mkdir(exist_ok=True)
    (tmp / "half-written").write_bytes(b"x" * 10)
    report = local.fsck(REPO)
    assert report.ok and any("temp file" in w for w in report.warnings)


def test_metadata_that_does_not_decode_is_found(local):
    r = local._repo(REPO)
    head = r.branch_commit("main")
    signature = pygit2.Signature("x", "x@x")
    oid = r.git.create_commit(
        None, signature, signature, "m\n\nFleetloop-Metadata: {bad", head.tree_id, [head.id]
    )
    r.staging.record_commit(commit_id_of(oid), str(oid))
    r.git.references["refs/heads/main"].set_target(oid)
    assert any("metadata" in p for p in damaged(local))
