"""The contract every `VersionedStore` backend honours, run against each (see conftest.py).

Written against the protocol's lakeFS semantics only: repositories, zero-copy branches,
staged writes, commits and ref expressions, immutable tags, two- and three-dot diffs, merges
that always make a merge commit, revert, transact, and the names and paths refused everywhere.
"""

from __future__ import annotations

import hashlib
import io
import os
import re

import pytest

from resources.versioning.errors import (
    AlreadyExistsError,
    DirtyBranchError,
    EmptyCommitError,
    InvalidArgumentError,
    InvalidNameError,
    MergeConflictError,
    ObjectNotFoundError,
    RefNotFoundError,
    RepositoryNotFoundError,
)
from resources.versioning.records import Change, ChangeType, CommonPrefix, MergeStrategy

ADDED, CHANGED, REMOVED = ChangeType.ADDED, ChangeType.CHANGED, ChangeType.REMOVED
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def commit_files(store, repo, files, branch="main", message="write"):
    for path, data in files.items():
        store.put(repo, branch, path, data)
    return store.commit(repo, branch, message)


def head(store, repo, branch="main") -> str:
    return store.get_branch(repo, branch).commit_id


def listed(store, repo, ref, prefix="", **kwargs) -> list[str]:
    return [entry.path for entry in store.list_objects(repo, ref, prefix, **kwargs)]


def pages(store, repo, ref, size, **kwargs) -> list[list[str]]:
    """Walk a listing page by page, each page starting after the last path of the one before."""
    found, after = [], ""
    for _ in range(100):
        page = listed(store, repo, ref, after=after, max_amount=size, **kwargs)
        if not page:
            return found
        found.append(page)
        after = page[-1]
    pytest.fail("the listing never ends: `after` is not honoured")


def names(refs) -> list[str]:
    return sorted(ref.name for ref in refs)


def changes(*pairs) -> list[Change]:
    return sorted((Change(kind, path) for kind, path in pairs), key=lambda c: (c.path, c.type))


def ordered(found) -> list[Change]:
    return sorted(found, key=lambda c: (c.path, c.type))


def diverged(store, repo):
    """main and `feature` both changed `a.txt` and `b.txt` since they parted; `feature` also
    added `c.txt`. Returns main's head before any merge."""
    commit_files(store, repo, {"a.txt": b"base-a", "b.txt": b"base-b"})
    store.create_branch(repo, "feature", "main")
    commit_files(store, repo, {"a.txt": b"ours-a", "b.txt": b"ours-b"})
    commit_files(
        store, repo, {"a.txt": b"theirs-a", "b.txt": b"theirs-b", "c.txt": b"c"}, "feature"
    )
    return head(store, repo)


# -- repositories -------------------------------------------------------------------------


def test_create_repository_returns_name_and_default_branch(store, new_repo_name):
    name = new_repo_name()
    created = store.create_repository(name, default_branch="trunk")
    assert (created.name, created.default_branch) == (name, "trunk")
    assert store.get_repository(name) == created
    assert names(store.list_branches(name)) == ["trunk"]


def test_list_repositories_includes_every_created_repository(store, new_repo_name):
    first, second = new_repo_name(), new_repo_name()
    store.create_repository(first)
    store.create_repository(second)
    listed_names = [r.name for r in store.list_repositories()]
    assert {first, second} <= set(listed_names)


def test_deleted_repository_is_gone(store, repo):
    store.delete_repository(repo)
    assert repo not in [r.name for r in store.list_repositories()]
    with pytest.raises(RepositoryNotFoundError, match=repo):
        store.get_repository(repo)


def test_create_existing_repository_raises_already_exists(store, repo):
    with pytest.raises(AlreadyExistsError, match=repo):
        store.create_repository(repo)


def test_create_repository_exist_ok_keeps_existing_data(store, repo):
    commit_files(store, repo, {"keep.txt": b"kept"})
    again = store.create_repository(repo, exist_ok=True)
    assert again.name == repo
    assert store.get(repo, "main", "keep.txt") == b"kept"


UNKNOWN_REPO_OPS = {
    "get_repository": lambda s, r: s.get_repository(r),
    "delete_repository": lambda s, r: s.delete_repository(r),
    "list_branches": lambda s, r: s.list_branches(r),
    "create_branch": lambda s, r: s.create_branch(r, "dev", "main"),
    "put": lambda s, r: s.put(r, "main", "a.txt", b"a"),
    "get": lambda s, r: s.get(r, "main", "a.txt"),
    "commit": lambda s, r: s.commit(r, "main", "m"),
}


@pytest.mark.parametrize("op", UNKNOWN_REPO_OPS)
def test_unknown_repository_raises_repository_not_found(store, new_repo_name, op):
    missing = new_repo_name()
    with pytest.raises(RepositoryNotFoundError, match=missing):
        UNKNOWN_REPO_OPS[op](store, missing)


@pytest.mark.parametrize("bad", ["AB", "ab", "-abc", "a_b", "a" * 64, "has space", ""])
def test_invalid_repository_name_raises_invalid_name(store, bad):
    with pytest.raises(InvalidNameError, match=re.escape(repr(bad))):
        store.create_repository(bad)


# -- branches -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["branch", "tag", "commit id", "commit prefix", "main~1"])
def test_create_branch_from_any_ref(store, repo, kind):
    first = commit_files(store, repo, {"a.txt": b"v1"})
    commit_files(store, repo, {"a.txt": b"v2"})
    store.create_tag(repo, "v1", first.id)
    source, expected_id, expected = {
        "branch": ("main", head(store, repo), b"v2"),
        "tag": ("v1", first.id, b"v1"),
        "commit id": (first.id, first.id, b"v1"),
        "commit prefix": (first.id[:12], first.id, b"v1"),
        "main~1": ("main~1", first.id, b"v1"),
    }[kind]
    created = store.create_branch(repo, "dev", source)
    assert (created.name, created.commit_id) == ("dev", expected_id)
    assert store.get_branch(repo, "dev") == created
    assert store.get(repo, "dev", "a.txt") == expected


def test_create_existing_branch_raises_already_exists(store, repo):
    store.create_branch(repo, "dev", "main")
    with pytest.raises(AlreadyExistsError, match="dev"):
        store.create_branch(repo, "dev", "main")


def test_create_branch_exist_ok_returns_existing_branch(store, repo):
    existing = store.create_branch(repo, "dev", "main")
    commit_files(store, repo, {"dev.txt": b"d"}, "dev")
    moved = store.get_branch(repo, "dev")
    assert moved.commit_id != existing.commit_id
    assert store.create_branch(repo, "dev", "main", exist_ok=True) == moved
    assert store.get_branch(repo, "dev") == moved


def test_list_branches_names_every_branch_with_its_head(store, repo):
    store.create_branch(repo, "dev", "main")
    commit_files(store, repo, {"x.txt": b"x"}, "dev")
    store.create_branch(repo, "feature", "main")
    refs = {ref.name: ref.commit_id for ref in store.list_branches(repo)}
    assert sorted(refs) == ["dev", "feature", "main"]
    assert refs["dev"] == head(store, repo, "dev") != refs["main"]


def test_deleted_branch_is_gone_with_its_staged_writes(store, repo):
    store.create_branch(repo, "dev", "main")
    store.put(repo, "dev", "staged.txt", b"s")
    store.delete_branch(repo, "dev")
    assert names(store.list_branches(repo)) == ["main"]
    with pytest.raises(RefNotFoundError, match="dev"):
        store.get_branch(repo, "dev")
    store.create_branch(repo, "dev", "main")
    assert not store.exists(repo, "dev", "staged.txt")
    assert store.uncommitted(repo, "dev") == []


@pytest.mark.parametrize("source", ["no-such-branch", "0" * 64, "main~5"])
def test_create_branch_from_unknown_ref_raises_ref_not_found(store, repo, source):
    with pytest.raises(RefNotFoundError, match=re.escape(source)):
        store.create_branch(repo, "dev", source)
    assert names(store.list_branches(repo)) == ["main"]


def test_unknown_branch_raises_ref_not_found(store, repo):
    with pytest.raises(RefNotFoundError, match="ghost"):
        store.get_branch(repo, "ghost")
    with pytest.raises(RefNotFoundError, match="ghost"):
        store.put(repo, "ghost", "a.txt", b"a")


def test_reading_at_unknown_ref_raises_ref_not_found_not_object_not_found(store, repo):
    commit_files(store, repo, {"a.txt": b"a"})
    with pytest.raises(RefNotFoundError, match="ghost"):
        store.get(repo, "ghost", "a.txt")
    with pytest.raises(RefNotFoundError, match="ghost"):
        store.stat(repo, "ghost", "a.txt")


def test_new_branch_is_zero_copy(store, repo):
    commit_files(store, repo, {"big.bin": os.urandom(200_000), "small.txt": b"s"})
    created = store.create_branch(repo, "dev", "main")
    assert created.commit_id == head(store, repo)  # no commit of its own
    for path in ("big.bin", "small.txt"):
        on_main, on_dev = store.stat(repo, "main", path), store.stat(repo, "dev", path)
        assert on_dev.checksum == on_main.checksum
        assert on_dev.physical_address == on_main.physical_address


def test_writes_on_a_branch_do_not_show_on_main(store, repo):
    commit_files(store, repo, {"shared.txt": b"main"})
    store.create_branch(repo, "dev", "main")
    store.put(repo, "dev", "shared.txt", b"dev")
    store.put(repo, "dev", "staged.txt", b"s")
    commit_files(store, repo, {"committed.txt": b"c"}, "dev")
    assert store.get(repo, "main", "shared.txt") == b"main"
    assert not store.exists(repo, "main", "staged.txt")
    assert not store.exists(repo, "main", "committed.txt")
    assert store.uncommitted(repo, "main") == []


# -- objects ------------------------------------------------------------------------------


def test_put_is_visible_on_the_branch_before_commit(store, repo):
    committed = head(store, repo)
    stat = store.put(repo, "main", "data/a.txt", b"hello")
    assert (stat.path, stat.size) == ("data/a.txt", 5)
    assert store.get(repo, "main", "data/a.txt") == b"hello"
    assert store.exists(repo, "main", "data/a.txt")
    assert store.stat(repo, "main", "data/a.txt").checksum == stat.checksum
    assert not store.exists(repo, committed, "data/a.txt")


def test_put_accepts_a_file_object(store, repo):
    store.put(repo, "main", "a.bin", io.BytesIO(b"from a file"))
    assert store.get(repo, "main", "a.bin") == b"from a file"
    assert store.stat(repo, "main", "a.bin").size == len(b"from a file")


def test_content_type_and_metadata_round_trip(store, repo):
    meta = {"camera": "front-left", "drive": "d-0042"}
    store.put(repo, "main", "f.csv", b"a,b\n", content_type="text/csv", metadata=meta)
    staged = store.stat(repo, "main", "f.csv")
    assert (staged.content_type, staged.metadata) == ("text/csv", meta)
    commit = store.commit(repo, "main", "csv")
    committed = store.stat(repo, commit.id, "f.csv")
    assert (committed.content_type, committed.metadata) == ("text/csv", meta)
    [entry] = store.list_objects(repo, "main")
    assert (entry.content_type, entry.metadata) == ("text/csv", meta)


def test_default_content_type_is_octet_stream(store, repo):
    store.put(repo, "main", "a.bin", b"x")
    assert store.stat(repo, "main", "a.bin").content_type == "application/octet-stream"


def test_put_overwrites_content(store, repo):
    commit_files(store, repo, {"a.txt": b"old"})
    store.put(repo, "main", "a.txt", b"newer")
    assert store.get(repo, "main", "a.txt") == b"newer"
    assert store.stat(repo, "main", "a.txt").size == 5


def test_delete_removes_object_from_branch_but_not_from_commits(store, repo):
    committed = commit_files(store, repo, {"a.txt": b"a"})
    store.delete(repo, "main", "a.txt")
    assert not store.exists(repo, "main", "a.txt")
    with pytest.raises(ObjectNotFoundError, match="a.txt"):
        store.get(repo, "main", "a.txt")
    assert store.get(repo, committed.id, "a.txt") == b"a"


def test_missing_object_raises_object_not_found(store, repo):
    assert not store.exists(repo, "main", "nope.txt")
    with pytest.raises(ObjectNotFoundError, match="nope.txt"):
        store.stat(repo, "main", "nope.txt")
    with pytest.raises(ObjectNotFoundError, match="nope.txt"):
        store.get(repo, "main", "nope.txt")
    with pytest.raises(ObjectNotFoundError, match="nope.txt"):
        store.open_reader(repo, "main", "nope.txt")


def test_open_reader_streams_in_chunks(store, repo):
    data = os.urandom(300_000)
    store.put(repo, "main", "stream.bin", data)
    chunks = []
    with store.open_reader(repo, "main", "stream.bin") as reader:
        while chunk := reader.read(65_536):
            assert len(chunk) <= 65_536
            chunks.append(chunk)
    assert len(chunks) >= 2
    assert b"".join(chunks) == data


def test_multi_megabyte_object_from_a_file_object(store, repo, tmp_path):
    source = tmp_path / "payload.bin"
    source.write_bytes(os.urandom(6 * 1024 * 1024 + 123))
    with source.open("rb") as handle:
        stat = store.put(repo, "main", "raw/payload.bin", handle)
    assert stat.size == source.stat().st_size
    commit = store.commit(repo, "main", "payload")
    digest = hashlib.sha256()
    with store.open_reader(repo, commit.id, "raw/payload.bin") as reader:
        while chunk := reader.read(1024 * 1024):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
    assert store.stat(repo, "main", "raw/payload.bin").size == stat.size


def test_put_many_stages_every_item(store, repo):
    items = [(f"many/{i:03d}.txt", b"%d" % i) for i in range(50)]
    assert store.put_many(repo, "main", items) == 50
    assert listed(store, repo, "main", "many/") == [path for path, _ in items]
    assert store.get(repo, "main", "many/049.txt") == b"49"


def test_non_string_metadata_raises_invalid_argument(store, repo):
    with pytest.raises(InvalidArgumentError):
        store.put(repo, "main", "a.txt", b"a", metadata={"n": 1})
    assert store.uncommitted(repo, "main") == []


# -- listing ------------------------------------------------------------------------------


def test_list_objects_is_sorted_and_filters_by_prefix(store, repo):
    commit_files(store, repo, {p: b"x" for p in ["b/1", "a/2", "ab", "a/1", "c"]})
    assert listed(store, repo, "main") == ["a/1", "a/2", "ab", "b/1", "c"]
    assert listed(store, repo, "main", "a/") == ["a/1", "a/2"]
    assert listed(store, repo, "main", "a") == ["a/1", "a/2", "ab"]
    assert listed(store, repo, "main", "zzz") == []


def test_list_objects_with_delimiter_folds_common_prefixes(store, repo):
    keys = ["top.txt", "d1/x", "d1/y", "d1.txt", "d2/sub/z"]
    commit_files(store, repo, {key: b"x" for key in keys})
    entries = list(store.list_objects(repo, "main", delimiter="/"))
    assert [e.path for e in entries] == ["d1.txt", "d1/", "d2/", "top.txt"]
    assert [isinstance(e, CommonPrefix) for e in entries] == [False, True, True, False]
    assert listed(store, repo, "main", "d2/", delimiter="/") == ["d2/sub/"]
    assert listed(store, repo, "main", "d1/", delimiter="/") == ["d1/x", "d1/y"]


def test_list_objects_pages_cover_every_key_once_in_order(store, repo):
    keys = [f"k/{i:02d}" for i in range(23)]
    commit_files(store, repo, {key: b"c" for key in keys[::2]})
    for key in keys[1::2]:  # half staged: pages must merge staged and committed entries
        store.put(repo, "main", key, b"s")
    found = pages(store, repo, "main", 5, prefix="k/")
    assert all(len(page) <= 5 for page in found)
    assert sum(found, []) == keys


def test_delimited_pages_yield_each_common_prefix_once(store, repo):
    commit_files(store, repo, {key: b"x" for key in ["a/1", "a/2", "b", "c/1", "c/2/3", "d"]})
    found = pages(store, repo, "main", 1, delimiter="/")
    assert found == [["a/"], ["b"], ["c/"], ["d"]]


def test_listing_shows_staged_changes_on_the_branch_only(store, repo):
    committed = commit_files(store, repo, {"a": b"a", "b": b"b"})
    store.create_tag(repo, "before", "main")
    store.put(repo, "main", "c", b"c")
    store.delete(repo, "main", "a")
    assert listed(store, repo, "main") == ["b", "c"]
    assert listed(store, repo, committed.id) == ["a", "b"]
    assert listed(store, repo, "before") == ["a", "b"]


# -- uncommitted and reset ----------------------------------------------------------------


def stage_mixed_changes(store, repo):
    commit_files(store, repo, {"a.txt": b"a", "b.txt": b"b", "keep.txt": b"k"})
    store.put(repo, "main", "a.txt", b"a2")
    store.put(repo, "main", "c.txt", b"c")
    store.delete(repo, "main", "b.txt")


def test_uncommitted_lists_added_changed_and_removed(store, repo):
    stage_mixed_changes(store, repo)
    assert ordered(store.uncommitted(repo, "main")) == changes(
        (CHANGED, "a.txt"), (REMOVED, "b.txt"), (ADDED, "c.txt")
    )
    store.commit(repo, "main", "mixed")
    assert store.uncommitted(repo, "main") == []


def test_uncommitted_filters_by_prefix(store, repo):
    store.put(repo, "main", "x/1", b"1")
    store.put(repo, "main", "y/1", b"1")
    assert store.uncommitted(repo, "main", prefix="x/") == [Change(ADDED, "x/1")]


def test_reset_drops_every_uncommitted_change(store, repo):
    stage_mixed_changes(store, repo)
    store.reset(repo, "main")
    assert store.uncommitted(repo, "main") == []
    assert listed(store, repo, "main") == ["a.txt", "b.txt", "keep.txt"]
    assert store.get(repo, "main", "a.txt") == b"a"


def test_reset_path_drops_only_that_path(store, repo):
    stage_mixed_changes(store, repo)
    store.reset(repo, "main", "a.txt")
    assert store.get(repo, "main", "a.txt") == b"a"
    assert ordered(store.uncommitted(repo, "main")) == changes((REMOVED, "b.txt"), (ADDED, "c.txt"))


def test_reset_prefix_drops_only_paths_under_it(store, repo):
    for path in ["x/1", "x/deep/2", "xy", "y/1"]:
        store.put(repo, "main", path, b"v")
    store.reset(repo, "main", "x/")
    assert ordered(store.uncommitted(repo, "main")) == changes((ADDED, "xy"), (ADDED, "y/1"))
    assert listed(store, repo, "main") == ["xy", "y/1"]


# -- commits and refs ---------------------------------------------------------------------


def test_commit_round_trips_message_and_metadata(store, repo):
    store.put(repo, "main", "a.txt", b"a")
    made = store.commit(repo, "main", "add a", metadata={"run": "42", "asset": "frames"})
    assert (made.message, made.metadata) == ("add a", {"run": "42", "asset": "frames"})
    assert store.get_commit(repo, made.id) == made
    assert head(store, repo) == made.id


def test_commit_ids_are_64_hex(store, repo):
    made = commit_files(store, repo, {"a.txt": b"a"})
    store.create_tag(repo, "t1", "main")
    ids = [made.id, *made.parents, head(store, repo), store.resolve(repo, "t1")]
    ids += [ref.commit_id for ref in store.list_branches(repo) + store.list_tags(repo)]
    assert all(HEX64.match(commit_id) for commit_id in ids), ids


def test_empty_commit_raises_empty_commit_error(store, repo):
    before = head(store, repo)
    with pytest.raises(EmptyCommitError, match="main"):
        store.commit(repo, "main", "nothing")
    assert head(store, repo) == before


def test_commit_of_only_reverted_writes_is_empty(store, repo):
    commit_files(store, repo, {"a.txt": b"a"})
    store.put(repo, "main", "new.txt", b"n")
    store.delete(repo, "main", "new.txt")
    with pytest.raises(EmptyCommitError):
        store.commit(repo, "main", "nothing really")


def test_allow_empty_makes_an_empty_commit(store, repo):
    before = head(store, repo)
    made = store.commit(repo, "main", "marker", allow_empty=True)
    assert made.parents == (before,)
    assert head(store, repo) == made.id


def test_unique_commit_id_prefix_resolves(store, repo):
    made = commit_files(store, repo, {"a.txt": b"a"})
    assert store.get_commit(repo, made.id[:12]).id == made.id
    assert store.get(repo, made.id[:12], "a.txt") == b"a"


def test_commit_parent_is_previous_head(store, repo):
    first = commit_files(store, repo, {"a.txt": b"1"})
    second = commit_files(store, repo, {"a.txt": b"2"})
    assert second.parents == (first.id,)
    assert len(store.get_commit(repo, first.parents[0]).parents) == 0  # the repository's root


def test_log_is_newest_first_and_respects_max_amount(store, repo):
    made = [commit_files(store, repo, {"a.txt": b"%d" % i}, message=f"c{i}") for i in range(3)]
    newest_first = [c.id for c in reversed(made)]
    full = [c.id for c in store.log(repo, "main")]
    assert full[:3] == newest_first
    assert len(full) == 4  # and the repository's first commit
    assert [c.id for c in store.log(repo, "main", max_amount=2)] == newest_first[:2]
    assert [c.message for c in store.log(repo, made[1].id)][:2] == ["c1", "c0"]


def test_tilde_expressions_walk_first_parents(store, repo):
    made = [commit_files(store, repo, {"a.txt": b"%d" % i}) for i in range(3)]
    assert store.resolve(repo, "main~1") == made[1].id
    assert store.resolve(repo, "main~2") == made[0].id
    assert store.get(repo, "main~2", "a.txt") == b"0"


def test_caret_expressions_pick_merge_parents(store, repo):
    before = diverged(store, repo)
    merged = store.merge(repo, "feature", "main", strategy="source-wins")
    assert store.resolve(repo, f"{merged.id}^1") == before
    assert store.resolve(repo, f"{merged.id}^2") == head(store, repo, "feature")
    assert store.resolve(repo, "main^2") == head(store, repo, "feature")


# -- tags ---------------------------------------------------------------------------------


def test_create_tag_from_any_ref(store, repo):
    first = commit_files(store, repo, {"a.txt": b"1"})
    second = commit_files(store, repo, {"a.txt": b"2"})
    assert store.create_tag(repo, "v1.0", "main~1").commit_id == first.id
    assert store.create_tag(repo, "v2.0", "main").commit_id == second.id
    assert store.resolve(repo, "v1.0") == first.id
    assert store.get(repo, "v1.0", "a.txt") == b"1"


def test_tags_are_immutable(store, repo):
    first = commit_files(store, repo, {"a.txt": b"1"})
    store.create_tag(repo, "v1", "main")
    commit_files(store, repo, {"a.txt": b"2"})
    with pytest.raises(AlreadyExistsError, match="v1"):
        store.create_tag(repo, "v1", "main")
    with pytest.raises(AlreadyExistsError, match="v1"):
        store.create_tag(repo, "v1", "main", exist_ok=True)
    assert store.resolve(repo, "v1") == first.id
    assert store.get(repo, "v1", "a.txt") == b"1"


def test_create_tag_exist_ok_accepts_the_same_target(store, repo):
    made = commit_files(store, repo, {"a.txt": b"1"})
    store.create_tag(repo, "v1", "main")
    assert store.create_tag(repo, "v1", made.id, exist_ok=True).commit_id == made.id


def test_list_tags_names_every_tag_with_its_commit(store, repo):
    first = commit_files(store, repo, {"a.txt": b"1"})
    second = commit_files(store, repo, {"a.txt": b"2"})
    store.create_tag(repo, "old", first.id)
    store.create_tag(repo, "new", second.id)
    assert {t.name: t.commit_id for t in store.list_tags(repo)} == {
        "old": first.id,
        "new": second.id,
    }


def test_deleted_tag_no_longer_resolves(store, repo):
    store.create_tag(repo, "gone", "main")
    store.delete_tag(repo, "gone")
    assert store.list_tags(repo) == []
    with pytest.raises(RefNotFoundError, match="gone"):
        store.resolve(repo, "gone")
    with pytest.raises(RefNotFoundError, match="gone"):
        store.delete_tag(repo, "gone")


def test_tag_of_unknown_ref_raises_ref_not_found(store, repo):
    with pytest.raises(RefNotFoundError, match="no-such-ref"):
        store.create_tag(repo, "v1", "no-such-ref")
    assert store.list_tags(repo) == []


# -- diff ---------------------------------------------------------------------------------


def branch_then_change_main(store, repo):
    """feature adds data/f.txt and other/g.txt; after it parted, main changed a.txt and added
    m.txt."""
    commit_files(store, repo, {"a.txt": b"v1"})
    store.create_branch(repo, "feature", "main")
    commit_files(store, repo, {"data/f.txt": b"f", "other/g.txt": b"g"}, "feature")
    commit_files(store, repo, {"a.txt": b"v2", "m.txt": b"m"})


def test_three_dot_diff_shows_what_right_changed_since_the_merge_base(store, repo):
    branch_then_change_main(store, repo)
    assert ordered(store.diff(repo, "main", "feature")) == changes(
        (ADDED, "data/f.txt"), (ADDED, "other/g.txt")
    )
    assert ordered(store.diff(repo, "feature", "main")) == changes(
        (CHANGED, "a.txt"), (ADDED, "m.txt")
    )


def test_two_dot_diff_is_the_direct_difference_of_the_trees(store, repo):
    branch_then_change_main(store, repo)
    assert ordered(store.diff(repo, "main", "feature", two_dot=True)) == changes(
        (CHANGED, "a.txt"), (ADDED, "data/f.txt"), (REMOVED, "m.txt"), (ADDED, "other/g.txt")
    )


def test_diff_filters_by_prefix(store, repo):
    branch_then_change_main(store, repo)
    assert store.diff(repo, "main", "feature", prefix="data/") == [Change(ADDED, "data/f.txt")]
    assert store.diff(repo, "main", "feature", prefix="data/", two_dot=True) == [
        Change(ADDED, "data/f.txt")
    ]


def test_diff_of_a_ref_with_itself_is_empty(store, repo):
    commit_files(store, repo, {"a.txt": b"a"})
    assert store.diff(repo, "main", "main") == []
    assert store.diff(repo, "main", "main", two_dot=True) == []


# -- merge --------------------------------------------------------------------------------


def test_merge_makes_a_merge_commit_even_when_fast_forward_is_possible(store, repo):
    commit_files(store, repo, {"a.txt": b"a"})
    store.create_branch(repo, "feature", "main")
    theirs = commit_files(store, repo, {"b.txt": b"b"}, "feature")
    before = head(store, repo)
    merged = store.merge(repo, "feature", "main", message="publish", metadata={"run": "1"})
    assert merged.parents == (before, theirs.id)
    assert (merged.message, merged.metadata) == ("publish", {"run": "1"})
    assert head(store, repo) == merged.id != theirs.id
    assert store.get(repo, "main", "b.txt") == b"b"


def test_merge_into_a_dirty_branch_raises_and_changes_nothing(store, repo):
    commit_files(store, repo, {"a.txt": b"a"})
    store.create_branch(repo, "feature", "main")
    commit_files(store, repo, {"b.txt": b"b"}, "feature")
    store.put(repo, "main", "dirty.txt", b"d")
    before = head(store, repo)
    with pytest.raises(DirtyBranchError, match="main"):
        store.merge(repo, "feature", "main")
    assert head(store, repo) == before
    assert not store.exists(repo, "main", "b.txt")
    assert store.uncommitted(repo, "main") == [Change(ADDED, "dirty.txt")]


def test_merge_conflict_names_every_path_and_leaves_destination_unchanged(store, repo):
    before = diverged(store, repo)
    feature_before = head(store, repo, "feature")
    with pytest.raises(MergeConflictError) as raised:
        store.merge(repo, "feature", "main")
    assert sorted(raised.value.paths) == ["a.txt", "b.txt"]
    assert "a.txt" in str(raised.value) and "b.txt" in str(raised.value)
    assert head(store, repo) == before
    assert head(store, repo, "feature") == feature_before
    assert store.get(repo, "main", "a.txt") == b"ours-a"
    assert not store.exists(repo, "main", "c.txt")
    assert store.uncommitted(repo, "main") == []


@pytest.mark.parametrize(
    ("strategy", "winner"),
    [("source-wins", b"theirs"), ("dest-wins", b"ours"), (MergeStrategy.DEST_WINS, b"ours")],
)
def test_merge_strategy_resolves_conflicts(store, repo, strategy, winner):
    before = diverged(store, repo)
    merged = store.merge(repo, "feature", "main", strategy=strategy)
    assert merged.parents == (before, head(store, repo, "feature"))
    assert store.get(repo, "main", "a.txt") == winner + b"-a"
    assert store.get(repo, "main", "b.txt") == winner + b"-b"
    assert store.get(repo, "main", "c.txt") == b"c"  # non-conflicting change lands either way


def test_identical_writes_on_two_branches_do_not_conflict(store, repo):
    commit_files(store, repo, {"base.txt": b"base"})
    store.create_branch(repo, "feature", "main")
    for branch in ("main", "feature"):
        store.put(repo, branch, "same.txt", b"same", content_type="text/plain", metadata={"k": "v"})
        store.put(repo, branch, "base.txt", b"both changed it alike")
        store.commit(repo, branch, f"same on {branch}")
    store.merge(repo, "feature", "main")
    assert store.get(repo, "main", "same.txt") == b"same"
    assert store.stat(repo, "main", "same.txt").metadata == {"k": "v"}
    assert store.get(repo, "main", "base.txt") == b"both changed it alike"


def test_same_content_with_different_metadata_conflicts(store, repo):
    commit_files(store, repo, {"base.txt": b"base"})
    store.create_branch(repo, "feature", "main")
    for branch in ("main", "feature"):
        store.put(repo, branch, "same.txt", b"same", metadata={"written-on": branch})
        store.commit(repo, branch, f"same bytes on {branch}")
    with pytest.raises(MergeConflictError) as raised:
        store.merge(repo, "feature", "main")
    assert raised.value.paths == ["same.txt"]


def test_delete_against_change_conflicts(store, repo):
    commit_files(store, repo, {"a.txt": b"a"})
    store.create_branch(repo, "feature", "main")
    store.delete(repo, "main", "a.txt")
    store.commit(repo, "main", "drop a")
    commit_files(store, repo, {"a.txt": b"a2"}, "feature")
    with pytest.raises(MergeConflictError) as raised:
        store.merge(repo, "feature", "main")
    assert raised.value.paths == ["a.txt"]


def test_merge_of_unknown_source_raises_ref_not_found(store, repo):
    with pytest.raises(RefNotFoundError, match="no-such-ref"):
        store.merge(repo, "no-such-ref", "main")


def test_unknown_merge_strategy_raises_invalid_argument(store, repo):
    diverged(store, repo)
    before = head(store, repo)
    with pytest.raises(InvalidArgumentError, match="theirs"):
        store.merge(repo, "feature", "main", strategy="theirs")
    assert head(store, repo) == before


# -- revert -------------------------------------------------------------------------------


def test_revert_restores_the_previous_content(store, repo):
    commit_files(store, repo, {"a.txt": b"v1"})
    bad = commit_files(store, repo, {"a.txt": b"v2", "b.txt": b"new"})
    reverted = store.revert(repo, "main", bad.id)
    assert reverted.parents == (bad.id,)
    assert head(store, repo) == reverted.id
    assert store.get(repo, "main", "a.txt") == b"v1"
    assert not store.exists(repo, "main", "b.txt")


def test_revert_of_a_merge_commit_needs_a_parent_number(store, repo):
    commit_files(store, repo, {"a.txt": b"a"})
    store.create_branch(repo, "feature", "main")
    commit_files(store, repo, {"b.txt": b"b"}, "feature")
    merged = store.merge(repo, "feature", "main")
    with pytest.raises(InvalidArgumentError):
        store.revert(repo, "main", merged.id)
    assert head(store, repo) == merged.id
    store.revert(repo, "main", merged.id, parent_number=1)
    assert not store.exists(repo, "main", "b.txt")
    assert store.get(repo, "main", "a.txt") == b"a"


def test_revert_on_a_dirty_branch_raises_dirty_branch(store, repo):
    made = commit_files(store, repo, {"a.txt": b"a"})
    store.put(repo, "main", "dirty.txt", b"d")
    with pytest.raises(DirtyBranchError, match="main"):
        store.revert(repo, "main", made.id)
    assert head(store, repo) == made.id


# -- transact -----------------------------------------------------------------------------


def test_transact_merges_its_changes_and_removes_the_ephemeral_branch(store, repo):
    before = head(store, repo)
    with store.transact(repo, "main", "load", metadata={"run": "7"}) as branch:
        assert branch != "main" and branch in names(store.list_branches(repo))
        store.put(repo, branch, "t.txt", b"t")
        assert not store.exists(repo, "main", "t.txt")
    merged = store.get_commit(repo, "main")
    assert len(merged.parents) == 2 and merged.parents[0] == before
    assert store.get(repo, "main", "t.txt") == b"t"
    assert names(store.list_branches(repo)) == ["main"]


class Boom(Exception):
    pass


def test_transact_failure_leaves_the_branch_untouched_and_no_ephemeral_branch(store, repo):
    before = head(store, repo)
    with pytest.raises(Boom), store.transact(repo, "main", "load") as branch:
        store.put(repo, branch, "t.txt", b"t")
        store.commit(repo, branch, "half")
        raise Boom
    assert head(store, repo) == before
    assert not store.exists(repo, "main", "t.txt")
    assert names(store.list_branches(repo)) == ["main"]


# -- names and paths refused --------------------------------------------------------------

BAD_PATHS = ["../x", "/abs", "a//b", "a/./b", "with\x00nul", "", "a/../b", "dir/"]
WRITES = {
    "put": lambda s, r, p: s.put(r, "main", p, b"x"),
    "put file": lambda s, r, p: s.put(r, "main", p, io.BytesIO(b"x")),
    "put_many": lambda s, r, p: s.put_many(r, "main", [("fine.txt", b"x"), (p, b"x")]),
    "delete": lambda s, r, p: s.delete(r, "main", p),
}
READS = {
    "stat": lambda s, r, p: s.stat(r, "main", p),
    "get": lambda s, r, p: s.get(r, "main", p),
}


@pytest.mark.parametrize("path", BAD_PATHS)
@pytest.mark.parametrize("op", WRITES)
def test_bad_path_is_refused_on_every_write_and_nothing_is_staged(store, repo, op, path):
    commit_files(store, repo, {"a/b": b"committed"})
    with pytest.raises(InvalidNameError, match=re.escape(repr(path)[1:-1]) or None):
        WRITES[op](store, repo, path)
    assert store.uncommitted(repo, "main") == []
    assert listed(store, repo, "main") == ["a/b"]


@pytest.mark.parametrize("path", BAD_PATHS)
@pytest.mark.parametrize("op", READS)
def test_bad_path_is_refused_on_read(store, repo, op, path):
    with pytest.raises(InvalidNameError):
        READS[op](store, repo, path)


@pytest.mark.parametrize("bad", ["bad name", "-dash", "a/b", "a..b", "deadbeef12", "x~1", ""])
def test_invalid_branch_name_is_refused(store, repo, bad):
    with pytest.raises(InvalidNameError, match=re.escape(repr(bad))):
        store.create_branch(repo, bad, "main")
    with pytest.raises(InvalidNameError, match=re.escape(repr(bad))):
        store.put(repo, bad, "a.txt", b"a")
    with pytest.raises(InvalidNameError, match=re.escape(repr(bad))):
        store.commit(repo, bad, "m", allow_empty=True)
    assert names(store.list_branches(repo)) == ["main"]


@pytest.mark.parametrize("bad", ["-v1", ".v1", "v 1", "a/b", "v1~1", ""])
def test_invalid_tag_name_is_refused(store, repo, bad):
    with pytest.raises(InvalidNameError, match=re.escape(repr(bad))):
        store.create_tag(repo, bad, "main")
    assert store.list_tags(repo) == []


BAD_PREFIXES = ["../", "/abs/", "a//", "nul\x00/", "a/../b/"]
PREFIX_CALLS = {
    "list_objects": lambda s, r, p: list(s.list_objects(r, "main", p)),
    "list_objects delimited": lambda s, r, p: list(s.list_objects(r, "main", p, delimiter="/")),
    "uncommitted": lambda s, r, p: s.uncommitted(r, "main", p),
    "diff": lambda s, r, p: s.diff(r, "main", "main", prefix=p),
    "reset": lambda s, r, p: s.reset(r, "main", p),
}


@pytest.mark.parametrize("prefix", BAD_PREFIXES)
@pytest.mark.parametrize("op", PREFIX_CALLS)
def test_bad_prefix_is_refused_and_nothing_changes(store, repo, op, prefix):
    commit_files(store, repo, {"a/b": b"committed"})
    store.put(repo, "main", "a/c", b"staged")
    with pytest.raises(InvalidNameError, match=re.escape(repr(prefix[:-1])[1:-1])):
        PREFIX_CALLS[op](store, repo, prefix)
    assert store.uncommitted(repo, "main") == [Change(ADDED, "a/c")]


BAD_REFS = ["main~x", "main^a", "", "bad ref", "~1", "main~-1", "x" * 256]
REF_CALLS = {
    "get_commit": lambda s, r, ref: s.get_commit(r, ref),
    "log": lambda s, r, ref: list(s.log(r, ref)),
    "create_branch": lambda s, r, ref: s.create_branch(r, "dev", ref),
    "create_tag": lambda s, r, ref: s.create_tag(r, "v1", ref),
    "get": lambda s, r, ref: s.get(r, ref, "a.txt"),
    "list_objects": lambda s, r, ref: list(s.list_objects(r, ref)),
    "diff": lambda s, r, ref: s.diff(r, "main", ref),
    "merge": lambda s, r, ref: s.merge(r, ref, "main"),
}


@pytest.mark.parametrize("ref", BAD_REFS)
@pytest.mark.parametrize("op", REF_CALLS)
def test_malformed_ref_is_an_invalid_name_not_an_unknown_ref(store, repo, op, ref):
    commit_files(store, repo, {"a.txt": b"a"})
    before = head(store, repo)
    with pytest.raises(InvalidNameError, match=re.escape(repr(ref)[:30])):
        REF_CALLS[op](store, repo, ref)
    assert names(store.list_branches(repo)) == ["main"] and store.list_tags(repo) == []
    assert head(store, repo) == before


def test_overlong_names_are_refused(store, repo, new_repo_name):
    with pytest.raises(InvalidNameError):
        store.create_branch(repo, "b" * 256, "main")
    with pytest.raises(InvalidNameError):
        store.create_tag(repo, "t" * 256, "main")
    with pytest.raises(InvalidNameError):
        store.put(repo, "main", "p" * 1025, b"x")
    with pytest.raises(InvalidNameError, match="surrogate"):
        store.put(repo, "main", "bad\udc80name", b"x")
    name = new_repo_name()
    with pytest.raises(InvalidNameError, match="bad name"):
        store.create_repository(name, default_branch="bad name")
    assert name not in [r.name for r in store.list_repositories()]
    assert names(store.list_branches(repo)) == ["main"] and store.list_tags(repo) == []
    assert store.uncommitted(repo, "main") == []


@pytest.mark.parametrize("data", ["text, not bytes", 42, None])
def test_object_data_must_be_bytes_or_a_binary_file(store, repo, data):
    with pytest.raises(InvalidArgumentError, match="bytes or a binary file"):
        store.put(repo, "main", "a.txt", data)
    assert store.uncommitted(repo, "main") == []


def test_names_that_do_not_exist_are_named_in_the_error(store, repo):
    with pytest.raises(RefNotFoundError, match="'ghost'"):
        store.delete_branch(repo, "ghost")
    with pytest.raises(RefNotFoundError, match="'ghost'"):
        store.delete_tag(repo, "ghost")
    with pytest.raises(RefNotFoundError, match="ghost"):
        store.revert(repo, "main", "ghost")
    with pytest.raises(RefNotFoundError, match="ghost"):
        store.commit(repo, "ghost", "m")
    with pytest.raises(ObjectNotFoundError, match="'raw/missing.txt'"):
        store.delete(repo, "main", "raw/missing.txt")


def test_errors_say_what_to_do(store, repo):
    """The message of each refusal names the thing and the way out, because it ends up in a
    run log or on a terminal, read by someone who did not write the call."""
    diverged(store, repo)
    store.create_tag(repo, "v1", "main")
    with pytest.raises(AlreadyExistsError, match=r"'v1'.*immutable"):
        store.create_tag(repo, "v1", "feature")
    with pytest.raises(MergeConflictError, match=r"a\.txt.*strategy"):
        store.merge(repo, "feature", "main")
    with pytest.raises(EmptyCommitError, match="allow_empty"):
        store.commit(repo, "main", "nothing")
    store.put(repo, "main", "dirty.txt", b"d")
    with pytest.raises(DirtyBranchError, match=r"'main'.*commit or reset"):
        store.merge(repo, "feature", "main")
    with pytest.raises(InvalidNameError, match=r"'\.\./x'.*repository root"):
        store.put(repo, "main", "../x", b"x")
    with pytest.raises(InvalidArgumentError, match="source-wins"):
        store.merge(repo, "feature", "main", strategy="theirs")


WRONG_TYPES = {
    "content type": lambda s, r: s.put(r, "main", "a.txt", b"a", content_type=None),
    "metadata not a mapping": lambda s, r: s.put(r, "main", "a.txt", b"a", metadata="k=v"),
    "commit message": lambda s, r: s.commit(r, "main", None, allow_empty=True),
    "merge message": lambda s, r: s.merge(r, "main", "main", message=42),
}


@pytest.mark.parametrize("op", WRONG_TYPES)
def test_arguments_of_the_wrong_type_are_invalid_arguments(store, repo, op):
    before = head(store, repo)
    with pytest.raises(InvalidArgumentError):
        WRONG_TYPES[op](store, repo)
    assert head(store, repo) == before and store.uncommitted(repo, "main") == []
