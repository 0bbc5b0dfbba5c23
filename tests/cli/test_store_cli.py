"""`fleetloop store …` against an embedded store in a temporary `FLEETLOOP_HOME`: each verb
does what it says and prints what it did; every store error is one line and exit status 1."""

from __future__ import annotations

import hashlib
import importlib
import os
import re

import pytest
from click.testing import CliRunner

from entrypoints.cli import main
from resources.versioning.local import LocalStore

REPO = "drive-data"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLEETLOOP_STORE", "local")
    monkeypatch.delenv("FLEETLOOP_REPOSITORY", raising=False)
    return tmp_path / "home"


@pytest.fixture
def run(home):
    runner = CliRunner()

    def invoke(*args: str, input: bytes | str | None = None, ok: bool = True):
        result = runner.invoke(main, ["store", *args], input=input)
        if ok:
            assert result.exit_code == 0, (args, result.output, result.stderr)
            assert result.exception is None
        return result

    return invoke


@pytest.fixture
def store(run, home) -> LocalStore:
    """A repository with two commits on main, a branch `exp` that changed a.txt, a tag."""
    run("repos", "create", REPO)
    run("put", "main", "raw/a.txt", input="alpha\n")
    run("put", "main", "raw/b.txt", input="bravo\n")
    run("commit", "main", "-m", "first", "--meta", "run=1")
    run("branches", "create", "exp")
    run("put", "exp", "raw/a.txt", input="changed on exp\n")
    run("commit", "exp", "-m", "change a")
    run("tag", "create", "v1", "main")
    return LocalStore(home / "store")


def failed(result, *fragments: str) -> str:
    """The one-line error of a failed command, which must name every fragment."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_repos_create_and_list(run, home):
    result = run("repos", "create", REPO)
    assert "'drive-data'" in result.output and "'main'" in result.output
    run("repos", "create", "other-repo", "--default-branch", "trunk")
    listing = run("repos", "list").output
    assert re.search(r"drive-data\s+main\s+\S+drive-data", listing)
    assert re.search(r"other-repo\s+trunk", listing)
    assert [r.name for r in LocalStore(home / "store").list_repositories()] == [
        REPO,
        "other-repo",
    ]
    run("repos", "create", REPO, "--exist-ok")
    failed(run("repos", "create", REPO, ok=False), "'drive-data'", "already exists")


def test_branches_list_create_delete(run, store):
    exp = store.get_branch(REPO, "exp").commit_id
    listing = run("branches", "list").output
    assert re.search(rf"exp\s+{exp}", listing)  # full 64-hex ids, never wrapped
    made = run("branches", "create", "from-tag", "--source", "v1").output
    assert store.get_commit(REPO, "v1").id in made
    assert store.get_branch(REPO, "from-tag").commit_id == store.get_commit(REPO, "main").id
    run("branches", "delete", "from-tag", "--yes")
    assert "from-tag" not in [b.name for b in store.list_branches(REPO)]
    kept = run("branches", "delete", "exp", input="n\n", ok=False)
    assert kept.exit_code == 1 and "exp" in [b.name for b in store.list_branches(REPO)]


def test_put_commit_and_log_show_messages_and_metadata(run, store):
    main_head = store.get_commit(REPO, "main")
    log = run("log").output
    assert f"commit {main_head.id}" in log
    assert "    first" in log and "    run = 1" in log and "Repository created" in log
    oneline = run("log", "exp", "--oneline", "-n", "2").output.splitlines()
    exp_head = store.get_commit(REPO, "exp")
    assert len(oneline) == 2
    assert oneline[0].startswith(exp_head.id[:12]) and oneline[0].endswith("change a")
    assert oneline[1].startswith(main_head.id[:12]) and oneline[1].endswith("first")


def test_diff_three_dot_two_dot_and_uncommitted(run, store):
    run("put", "main", "raw/c.txt", input="charlie\n")
    run("commit", "main", "-m", "main moves on")
    three = run("diff", "main...exp").output
    assert three.splitlines() == ["main...exp: 1 change(s)", "~ raw/a.txt"]
    assert run("diff", "main", "exp").output == three
    two = run("diff", "main..exp").output.splitlines()
    assert two == ["main..exp: 2 change(s)", "~ raw/a.txt", "- raw/c.txt"]
    assert run("diff", "main", "exp", "--two-dot").output.splitlines()[1:] == two[1:]
    run("put", "exp", "raw/new.txt", input="new\n")
    staged = run("diff", "exp").output.splitlines()
    assert staged == ["uncommitted changes on 'exp': 1 change(s)", "+ raw/new.txt"]


def test_ls_cat_and_stat(run, store):
    top = run("ls", "main").output
    assert re.search(r"prefix\s+raw/", top)
    deep = run("ls", "main", "raw/", "--recursive").output
    assert re.search(r"object\s+6 B\s+raw/a.txt", deep) and "raw/b.txt" in deep
    assert run("cat", "exp", "raw/a.txt").stdout_bytes == b"changed on exp\n"
    assert run("cat", "v1", "raw/a.txt").stdout_bytes == b"alpha\n"
    info = run("stat", "main", "raw/a.txt").output
    assert hashlib.sha256(b"alpha\n").hexdigest() in info
    assert re.search(r"Size:\s+6 bytes", info)


def test_cat_streams_a_large_object_byte_for_byte(run, store, tmp_path):
    payload = bytes(range(256)) * 20_000  # 5 MB: the object directory, several chunks
    source = tmp_path / "big.bin"
    source.write_bytes(payload)
    run("put", "main", "raw/big.bin", str(source), "--content-type", "image/png", "--meta", "a=b")
    run("commit", "main", "-m", "big")
    assert run("cat", "main", "raw/big.bin").stdout_bytes == payload
    info = run("stat", "main", "raw/big.bin").output
    assert "image/png" in info and re.search(r"Metadata a:\s+b", info)


def test_tags_list_and_immutability(run, store):
    v1 = store.get_commit(REPO, "v1").id
    assert re.search(rf"v1\s+{v1}", run("tag", "list").output)
    failed(run("tag", "create", "v1", "exp", ok=False), "'v1'", "immutable")
    run("tag", "create", "v1", "main", "--exist-ok")
    run("tag", "delete", "v1")
    assert store.list_tags(REPO) == []


def test_merge_with_and_without_strategy(run, store):
    run("put", "main", "raw/a.txt", input="changed on main\n")
    run("commit", "main", "-m", "main changes a")
    error = failed(run("merge", "exp", "main", ok=False), "raw/a.txt", "strategy")
    assert "conflict" in error
    before = store.get_commit(REPO, "main").id
    out = run("merge", "exp", "main", "--strategy", "source-wins", "-m", "take exp").output
    merged = store.get_commit(REPO, "main")
    assert merged.id in out and merged.parents[0] == before and merged.message == "take exp"
    assert store.get(REPO, "main", "raw/a.txt") == b"changed on exp\n"


def test_merge_into_a_dirty_branch_is_refused(run, store):
    run("put", "main", "raw/dirty.txt", input="dirty\n")
    failed(run("merge", "exp", "main", ok=False), "'main'", "uncommitted", "commit or reset")


def test_fsck_passes_and_reports_damage(run, store, home):
    out = run("fsck", "--full").output
    assert "'drive-data' is sound" in out and "3 commits" in out
    big = bytes(range(256)) * 200
    store.put(REPO, "main", "raw/big.bin", big)
    store.commit(REPO, "main", "big")
    store.local_path(REPO, "main", "raw/big.bin").unlink()
    result = run("fsck", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "problem:" in result.stderr and "missing" in result.stderr
    assert "failed fsck: 1 problem(s)" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("cat", "main", "missing.txt"), ("'missing.txt'", "not found")),
        (("cat", "ghost", "raw/a.txt"), ("'ghost'", "not found")),
        (("log", "main~9"), ("main~9",)),
        (("put", "main", "../escape.txt"), ("'../escape.txt'", "'..'")),
        (("put", "main", "/abs.txt"), ("'/abs.txt'", "leading '/'")),
        (("put", "main", "a//b.txt"), ("'a//b.txt'", "empty segment")),
        (("branches", "create", "bad name"), ("'bad name'",)),
        (("branches", "create", "exp"), ("'exp'", "already exists")),
        (("branches", "delete", "main", "--yes"), ("'main'", "default branch")),
        (("tag", "create", "--", "-v1", "main"), ("'-v1'",)),
        (("commit", "main", "-m", "nothing"), ("'main'", "allow_empty")),
        (("--repo", "Bad_Repo", "branches", "list"), ("'Bad_Repo'",)),
        (("--repo", "no-such-repo", "log"), ("'no-such-repo'", "not found")),
    ],
)
def test_errors_are_one_line_and_change_nothing(run, store, home, args, fragments):
    before = {ref.name: ref.commit_id for ref in store.list_branches(REPO)}
    failed(run(*args, input="x\n", ok=False), *fragments)
    assert {ref.name: ref.commit_id for ref in store.list_branches(REPO)} == before
    assert store.uncommitted(REPO, "main") == []


@pytest.mark.parametrize(
    "args",
    [
        ("branches", "create", "abc\n"),
        ("branches", "create", "g" * 251),
        ("tag", "create", "v1.lock", "main"),
        ("tag", "create", "a..b", "main"),
        ("tag", "create", "x.", "main"),
        ("put", "main", "x/.git"),
        ("put", "main", "x/GIT~1"),
        ("log", "a..b"),
        ("--repo", "abc\n", "branches", "list"),
    ],
)
def test_names_git_or_the_filesystem_refuse_are_one_line_errors(run, store, args):
    before = {ref.name: ref.commit_id for ref in store.list_branches(REPO)}
    failed(run(*args, input="x\n", ok=False), "invalid")
    assert {ref.name: ref.commit_id for ref in store.list_branches(REPO)} == before
    assert store.list_tags(REPO) == [ref for ref in store.list_tags(REPO) if ref.name == "v1"]


def test_bad_metadata_option_is_a_usage_error(run, store):
    result = run("commit", "main", "-m", "x", "--meta", "novalue", ok=False)
    assert result.exit_code == 2 and "KEY=VALUE" in result.stderr


def test_fsck_refuses_the_lakefs_backend_clearly(run, monkeypatch):
    class Remote:  # stands in for LakeFSStore: fsck needs the embedded store's files
        pass

    module = importlib.import_module("entrypoints.cli.store")  # the package attribute is the group
    monkeypatch.setattr(module, "open_store", lambda backend: Remote())
    failed(run("fsck", ok=False), "embedded store")


def test_lakefs_backend_without_a_server_is_a_clear_error(run, monkeypatch):
    for name in list(os.environ):
        if name.startswith("LAKECTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", "/nonexistent-home-for-lakectl")
    failed(run("--backend", "lakefs", "branches", "list", ok=False), "LAKECTL_SERVER_ENDPOINT_URL")
