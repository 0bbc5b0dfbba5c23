"""Property tests of store names and object paths against a real LocalStore: every generated
name or path is either refused with InvalidNameError (one line, the project's error) or works
end to end (branch and tag created and resolved, objects put, committed, merged with both
strategies and read back). Nothing in between: no pygit2 or OS error leaks out."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from resources.versioning.errors import InvalidNameError, NotFoundError
from resources.versioning.local import LocalStore
from resources.versioning.names import (
    MAX_REF_NAME,
    check_branch_name,
    check_path,
    check_repository_name,
    check_tag_name,
)

REPO = "drive-data"
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    database=None,  # nothing written into the worktree
    derandomize=True,  # the same examples on every run: a failure is never luck
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Characters git, libgit2 or a filesystem treat specially, next to ordinary ones.
_TRICKY = "aZ09_-.~^@:/\\ \n\t\x7f*?[{}é\u200c"
names = st.one_of(
    st.text(alphabet=_TRICKY, max_size=12),
    st.text(alphabet="ab.", min_size=1, max_size=8).map(lambda s: s + ".lock"),
    st.builds(
        lambda ch, n, tail: ch * n + tail,
        st.sampled_from("gx_"),
        st.integers(MAX_REF_NAME - 3, 256),
        st.sampled_from(["", ".", "-", "\n", ".lock"]),
    ),
)
_SEGMENT_CHARS = "abGIT.git~1 :\u200c%\n"
segments = st.one_of(
    st.text(alphabet=_SEGMENT_CHARS, min_size=0, max_size=8),
    st.sampled_from([".git", ".GIT", "git~1", ".git.", ".git ", ".g\u200cit", "..", ".", "x"]),
)
paths = st.lists(segments, min_size=1, max_size=3).map("/".join)
_counter = itertools.count()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = LocalStore(tmp_path_factory.mktemp("names") / "store")
    store.create_repository(REPO)
    return store


def refused(check, value) -> bool:
    """True when `check` refuses `value` with a one-line InvalidNameError."""
    try:
        check(value)
    except InvalidNameError as error:
        assert "\n" not in str(error), str(error)
        return True
    return False


@SETTINGS
@given(name=names)
@example(name="abc\n")
@example(name="g" * 250)
@example(name="g" * 251)
def test_a_branch_name_is_refused_or_works_end_to_end(store, name):
    if refused(check_branch_name, name):
        with pytest.raises(InvalidNameError):
            store.create_branch(REPO, name, "main")
        return
    store.create_branch(REPO, name, "main")
    try:
        store.put(REPO, name, "data/x.bin", name.encode())
        made = store.commit(REPO, name, "on a generated branch")
        assert store.get(REPO, name, "data/x.bin") == name.encode()
        assert store.get_commit(REPO, f"{name}~1").id == made.parents[0]
        store.merge(REPO, name, "main", strategy="source-wins")
        assert store.get(REPO, "main", "data/x.bin") == name.encode()
    finally:
        store.delete_branch(REPO, name)


@SETTINGS
@given(name=names)
@example(name="v1.lock")
@example(name="a..b")
@example(name="x.")
@example(name="v1\n")
@example(name="g" * 251)
def test_a_tag_name_is_refused_or_works_end_to_end(store, name):
    if refused(check_tag_name, name):
        with pytest.raises(InvalidNameError):
            store.create_tag(REPO, name, "main")
        with pytest.raises((InvalidNameError, NotFoundError)):  # '0@' is a ref expression
            store.get_commit(REPO, name)
        return
    tagged = store.create_tag(REPO, name, "main")
    try:
        assert store.get_commit(REPO, name).id == tagged.commit_id
        assert name in {ref.name for ref in store.list_tags(REPO)}
    finally:
        store.delete_tag(REPO, name)


@SETTINGS
@given(ref=st.one_of(names, names.map(lambda name: "main" + name)))
@example(ref="a..b")
@example(ref="main~1\n")
@example(ref="v1.lock~1")
def test_a_ref_expression_resolves_or_is_a_clean_error(store, ref):
    try:
        store.get_commit(REPO, ref)
    except (InvalidNameError, NotFoundError) as error:
        assert "\n" not in str(error), str(error)


@settings(SETTINGS, max_examples=40)
@given(name=names)
@example(name="abc\n")
def test_a_repository_name_is_refused_or_works_end_to_end(store, name):
    if refused(check_repository_name, name):
        with pytest.raises(InvalidNameError):
            store.create_repository(name)
        return
    store.create_repository(name, exist_ok=True)
    try:
        store.put(name, "main", "k", b"v")
        store.commit(name, "main", "first")
        assert store.get(name, "main", "k") == b"v"
    finally:
        store.delete_repository(name)


@SETTINGS
@given(path=paths)
@example(path="x/.git")
@example(path=".git")
@example(path="x/git~1")
@example(path="x/.git.")
@example(path="x/y/.git")
@example(path="abc\n")
def test_an_object_path_is_refused_or_survives_a_conflicting_merge(store, path):
    if refused(check_path, path):
        with pytest.raises(InvalidNameError):
            store.put(REPO, "main", path, b"x")
        return
    left, right = f"left-{next(_counter)}", f"right-{next(_counter)}"
    store.create_branch(REPO, left, "main")
    store.create_branch(REPO, right, "main")
    try:
        store.put(REPO, left, path, b"from left")
        store.commit(REPO, left, "left")
        store.put(REPO, right, path, b"from right")
        store.commit(REPO, right, "right")
        assert [change.path for change in store.diff(REPO, right, left)] == [path]
        store.merge(REPO, left, right, strategy="dest-wins")
        assert store.get(REPO, right, path) == b"from right"
        store.merge(REPO, right, left, strategy="source-wins")
        assert store.get(REPO, left, path) == b"from right"
        assert path in {stat.path for stat in store.list_objects(REPO, left)}
        store.delete(REPO, left, path)
        store.commit(REPO, left, "delete")
        store.merge(REPO, left, "main", strategy="source-wins")
    finally:
        store.delete_branch(REPO, left)
        store.delete_branch(REPO, right)
    assert store.fsck(REPO).ok
