"""What a live lakeFS server taught the adapter, pinned down as tests.

The first part is more contract, run against both backends like test_contract.py: each case is
one place where lakeFS 1.84 answered differently from the protocol until `LakeFSStore` made up
the difference, plus the lakeFS system tests (esti/) that matter for it, in the store's terms.
The second part runs against lakeFS only: the differences kept on purpose, the client from
lakectl's own config, hooks, and reads that fetch only what they need.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import threading
from collections import defaultdict

import pytest

from resources.versioning.errors import (
    AmbiguousRefError,
    BackendError,
    InvalidArgumentError,
    ObjectNotFoundError,
)
from resources.versioning.records import Change, ChangeType

ADDED, CHANGED, REMOVED = ChangeType.ADDED, ChangeType.CHANGED, ChangeType.REMOVED


def commit_files(store, repo, files, branch="main", message="write"):
    for path, data in files.items():
        store.put(repo, branch, path, data)
    return store.commit(repo, branch, message)


def head(store, repo, branch="main") -> str:
    return store.get_branch(repo, branch).commit_id


def kinds(found) -> list[tuple[str, str]]:
    return sorted((c.type.value, c.path) for c in found)


# -- contract: where lakeFS answered differently ------------------------------------------


@pytest.mark.parametrize("strategy", [None, "source-wins", "dest-wins"])
def test_merge_commit_metadata_is_what_the_caller_wrote(store, repo, strategy):
    """lakeFS adds `.lakefs.merge.strategy` to every merge commit."""
    commit_files(store, repo, {"a.txt": b"a"})
    store.create_branch(repo, "feature", "main")
    commit_files(store, repo, {"b.txt": b"b"}, "feature")
    merged = store.merge(repo, "feature", "main", metadata={"run": "9"}, strategy=strategy)
    assert merged.metadata == {"run": "9"}
    assert store.get_commit(repo, "main").metadata == {"run": "9"}
    assert next(iter(store.log(repo, "main"))).metadata == {"run": "9"}


def test_deleting_a_path_that_is_not_there_raises_object_not_found(store, repo):
    """lakeFS answers 204 for it, staged deletion or never written alike."""
    commit_files(store, repo, {"a.txt": b"a"})
    store.delete(repo, "main", "a.txt")
    for path in ("a.txt", "never/written.txt"):
        with pytest.raises(ObjectNotFoundError, match=path):
            store.delete(repo, "main", path)
    assert store.uncommitted(repo, "main") == [Change(REMOVED, "a.txt")]


AWKWARD_METADATA = {
    "Camera": "Front-Left",  # lakeFS lowercases the header's name
    "Fahrer": "Jürgen Müller",  # http.client refuses non-ASCII header values
    "größe": "groß",
    "note": "line one\nline two",  # a header cannot carry a newline
    "padded": "  spaces kept  ",  # a header's value is stripped
    "empty": "",
    "plain": "fleet",
}


def test_mixed_case_and_non_ascii_metadata_round_trips(store, repo):
    store.put(repo, "main", "f.bin", b"x", metadata=AWKWARD_METADATA)
    assert store.stat(repo, "main", "f.bin").metadata == AWKWARD_METADATA
    [entry] = store.list_objects(repo, "main")
    assert entry.metadata == AWKWARD_METADATA
    made = store.commit(repo, "main", "awkward metadata")
    assert store.stat(repo, made.id, "f.bin").metadata == AWKWARD_METADATA
    store.put(repo, "main", "g.bin", io.BytesIO(b"from a file"), metadata={"Key": "Wert\r\n"})
    assert store.stat(repo, "main", "g.bin").metadata == {"Key": "Wert\r\n"}


def test_put_many_stages_many_objects_at_once(store, repo):
    items = [(f"bulk/{i:04d}.bin", os.urandom(64)) for i in range(400)]
    assert store.put_many(repo, "main", items) == 400
    found = {entry.path: entry.size for entry in store.list_objects(repo, "main", "bulk/")}
    assert found == {path: 64 for path, _ in items}
    assert store.get(repo, "main", "bulk/0399.bin") == items[-1][1]


def test_a_deleted_repository_name_can_be_reused_and_starts_empty(store, new_repo_name):
    """lakeFS keeps a deleted repository's objects in its storage namespace (and refuses to
    reuse it), and holds the name for a few seconds in its repository cache."""
    name = new_repo_name()
    store.create_repository(name)
    commit_files(store, name, {"old.txt": b"old"})
    store.delete_repository(name)
    again = store.create_repository(name, exist_ok=True)
    assert again.name == name
    assert list(store.list_objects(name, "main")) == []
    assert len(list(store.log(name, "main"))) == 1
    commit_files(store, name, {"new.txt": b"new"})
    assert store.get(name, "main", "new.txt") == b"new"


def test_three_dot_diff_gives_right_sides_changes_and_omits_changes_made_alike(store, repo):
    """lakeFS omits what both sides changed alike, as the protocol does, but types every path
    changed differently on both sides "conflict"; it is the change the right side made."""
    commit_files(store, repo, {p: p.encode() for p in ["a", "d", "e", "g", "x"]})
    store.create_branch(repo, "feature", "main")
    for branch in ("main", "feature"):
        store.put(repo, branch, "x", b"same on both")
        store.delete(repo, branch, "g")
        store.commit(repo, branch, "alike")
    store.put(repo, "main", "a", b"ours")
    store.delete(repo, "main", "d")
    store.put(repo, "main", "e", b"ours")
    store.commit(repo, "main", "ours")
    store.put(repo, "feature", "a", b"theirs")
    store.put(repo, "feature", "d", b"theirs")
    store.delete(repo, "feature", "e")
    store.commit(repo, "feature", "theirs")
    assert kinds(store.diff(repo, "main", "feature")) == [
        ("changed", "a"),
        ("changed", "d"),
        ("removed", "e"),
    ]
    assert kinds(store.diff(repo, "feature", "main")) == [
        ("changed", "a"),
        ("changed", "e"),
        ("removed", "d"),
    ]


def test_concurrent_transactions_on_one_branch_all_land(store, repo):
    """Writers racing to merge into one branch: lakeFS answers the losers 429 (or 'locked'),
    which transact() must retry rather than fail."""
    commit_files(store, repo, {"base.txt": b"base"})
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for round_ in range(3):
                with store.transact(repo, "main", f"writer {n} round {round_}") as branch:
                    store.put(repo, branch, f"w{n}/{round_}.txt", b"%d" % n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    paths = {entry.path for entry in store.list_objects(repo, "main")}
    assert paths == {"base.txt"} | {f"w{n}/{r}.txt" for n in range(4) for r in range(3)}
    assert [b.name for b in store.list_branches(repo)] == ["main"]


def test_reader_seeks(store, repo):
    data = os.urandom(3 * 1024 * 1024 + 5)
    store.put(repo, "main", "big.bin", data)
    with store.open_reader(repo, "main", "big.bin") as reader:
        assert reader.seekable()
        reader.seek(2 * 1024 * 1024 + 3)
        assert reader.read(10) == data[2 * 1024 * 1024 + 3 : 2 * 1024 * 1024 + 13]
        reader.seek(-5, io.SEEK_END)
        assert reader.read() == data[-5:]
        reader.seek(7)
        assert reader.read(4) == data[7:11]


# -- contract: lakeFS's system tests (esti/) in the store's terms -------------------------


def test_delete_staged_and_committed_objects(store, repo):
    """esti TestDeleteStaging, TestDeleteCommitted, TestCommitDeleteCommitted."""
    committed = commit_files(store, repo, {"committed.txt": b"c"})
    store.put(repo, "main", "staged.txt", b"s")
    store.delete(repo, "main", "staged.txt")
    store.delete(repo, "main", "committed.txt")
    assert store.uncommitted(repo, "main") == [Change(REMOVED, "committed.txt")]
    deleted = store.commit(repo, "main", "delete committed")
    assert not store.exists(repo, "main", "committed.txt")
    assert not store.exists(repo, "main", "staged.txt")
    assert store.get(repo, committed.id, "committed.txt") == b"c"
    assert store.diff(repo, committed.id, deleted.id, two_dot=True) == [
        Change(REMOVED, "committed.txt")
    ]


def test_reset_brings_back_a_staged_deletion_and_drops_staged_writes(store, repo):
    """esti TestResetAll, TestResetPath, TestResetObject."""
    commit_files(store, repo, {"keep/a.txt": b"a", "keep/b.txt": b"b", "top.txt": b"t"})
    store.delete(repo, "main", "keep/a.txt")
    store.put(repo, "main", "keep/b.txt", b"b2")
    store.put(repo, "main", "new/c.txt", b"c")
    store.delete(repo, "main", "top.txt")
    store.reset(repo, "main", "keep/a.txt")
    assert store.get(repo, "main", "keep/a.txt") == b"a"
    store.reset(repo, "main", "keep/")
    assert store.get(repo, "main", "keep/b.txt") == b"b"
    assert kinds(store.uncommitted(repo, "main")) == [
        ("added", "new/c.txt"),
        ("removed", "top.txt"),
    ]
    store.reset(repo, "main")
    assert store.uncommitted(repo, "main") == []
    assert store.get(repo, "main", "top.txt") == b"t"


def test_revert_of_an_older_commit_keeps_later_ones(store, repo):
    """esti TestRevert: reverting the commit that added 1.txt keeps 2.txt, added after it."""
    first = commit_files(store, repo, {"1.txt": b"one"})
    commit_files(store, repo, {"2.txt": b"two"})
    reverted = store.revert(repo, "main", first.id)
    assert not store.exists(repo, "main", "1.txt")
    assert store.get(repo, "main", "2.txt") == b"two"
    assert reverted.parents[0] != first.id


def test_merge_strategies_resolve_a_delete_against_a_change(store, repo):
    """esti TestMergeAndList, with the conflict a deletion makes."""
    commit_files(store, repo, {"a.txt": b"a", "keep.txt": b"k"})
    store.create_branch(repo, "feature", "main")
    store.create_branch(repo, "other", "main")
    store.delete(repo, "main", "a.txt")
    store.commit(repo, "main", "drop a")
    commit_files(store, repo, {"a.txt": b"a2"}, "feature")
    commit_files(store, repo, {"a.txt": b"a3"}, "other")
    store.merge(repo, "feature", "main", strategy="dest-wins")
    assert not store.exists(repo, "main", "a.txt")
    store.merge(repo, "other", "main", strategy="source-wins")
    assert store.get(repo, "main", "a.txt") == b"a3"
    assert store.get(repo, "main", "keep.txt") == b"k"


# -- lakeFS only --------------------------------------------------------------------------


@pytest.fixture
def lakefs_store(lakefs_client):
    from resources.versioning.lakefs_store import LakeFSStore

    return LakeFSStore(lakefs_client)


@pytest.fixture
def lakefs_repo(lakefs_store):
    import uuid

    name = f"lv-{uuid.uuid4().hex[:10]}"
    lakefs_store.create_repository(name)
    yield name
    with contextlib.suppress(Exception):
        lakefs_store.delete_repository(name)


pytestmark_lakefs = pytest.mark.lakefs


@pytestmark_lakefs
def test_lakefs_keeps_its_merge_strategy_key_which_the_store_leaves_out(
    lakefs_store, lakefs_client, lakefs_repo
):
    repo = lakefs_repo
    commit_files(lakefs_store, repo, {"a.txt": b"a"})
    lakefs_store.create_branch(repo, "feature", "main")
    commit_files(lakefs_store, repo, {"b.txt": b"b"}, "feature")
    merged = lakefs_store.merge(repo, "feature", "main", strategy="source-wins")
    raw = lakefs_client.sdk_client.commits_api.get_commit(repo, merged.id)
    assert raw.metadata[".lakefs.merge.strategy"] == "source-wins"
    assert merged.metadata == {}
    with pytest.raises(InvalidArgumentError, match=r"\.lakefs\."):
        lakefs_store.commit(repo, "main", "m", metadata={".lakefs.x": "y"}, allow_empty=True)


@pytestmark_lakefs
def test_store_from_lakectl_yaml_and_lakectl_reads_what_it_wrote(
    lakefs_server, monkeypatch, tmp_path
):
    """The server writes lakectl's own config; the SDK and lakectl both read it."""
    from deploy.lakefs import server
    from resources.versioning.lakefs_store import LakeFSStore

    endpoint, key_id, secret = lakefs_server
    config = tmp_path / "lakectl.yaml"
    config.write_text(server._lakectl_yaml(endpoint, key_id, secret))
    for name in ("LAKECTL_SERVER_ENDPOINT_URL", "LAKECTL_CREDENTIALS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("LAKECTL_CONFIG_FILE", str(config))
    store = LakeFSStore()
    name = f"lc-{os.urandom(5).hex()}"
    store.create_repository(name)
    try:
        made = commit_files(store, name, {"raw/d1.parquet": b"p"}, message="from fleetloop")
        lakectl = server.binary("lakectl")
        if not lakectl.exists():
            pytest.skip("lakectl is not built")
        log = subprocess.run(
            [
                str(lakectl),
                "--config",
                str(config),
                "log",
                f"lakefs://{name}/main",
                "--amount",
                "1",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert made.id in log and "from fleetloop" in log
    finally:
        store.delete_repository(name)


FAILING_HOOK = """name: refuse everything
on:
  pre-merge:
    branches: ["main"]
hooks:
  - id: refuse
    type: lua
    properties:
      script: |
        error("fleetloop test: merges into main are refused")
"""


@pytestmark_lakefs
def test_a_merge_a_hook_refuses_is_not_retried_and_changes_nothing(lakefs_store, lakefs_repo):
    """412 is a failed pre-merge hook; it used to be retried as if it were contention."""
    repo = lakefs_repo
    lakefs_store.put(repo, "main", "_lakefs_actions/refuse.yaml", FAILING_HOOK.encode())
    lakefs_store.commit(repo, "main", "install a refusing pre-merge hook")
    before = head(lakefs_store, repo)
    lakefs_store.create_branch(repo, "feature", "main")
    commit_files(lakefs_store, repo, {"b.txt": b"b"}, "feature")
    with pytest.raises(BackendError, match="hook refused"):
        lakefs_store.merge(repo, "feature", "main")
    assert head(lakefs_store, repo) == before
    assert not lakefs_store.exists(repo, "main", "b.txt")


@pytestmark_lakefs
def test_a_parquet_row_group_is_read_without_fetching_the_whole_object(
    lakefs_store, lakefs_repo, tmp_path
):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = 400_000
    table = pa.table({"id": list(range(rows)), "blob": [os.urandom(8).hex() for _ in range(rows)]})
    source = tmp_path / "frames.parquet"
    pq.write_table(table, source, row_group_size=rows // 8, compression="none")
    size = source.stat().st_size
    with source.open("rb") as handle:
        lakefs_store.put(lakefs_repo, "main", "frames.parquet", handle)
    with lakefs_store.open_reader(lakefs_repo, "main", "frames.parquet") as reader:
        parquet = pq.ParquetFile(reader)
        assert parquet.num_row_groups == 8
        group = parquet.read_row_group(3, columns=["id"])
        fetched = reader.raw.fetched
    assert group.column("id")[0].as_py() == 3 * rows // 8
    assert fetched < size / 3, (fetched, size)


@pytestmark_lakefs
def test_an_ambiguous_commit_prefix_raises_ambiguous(lakefs_store, lakefs_repo):
    """lakeFS answers an ambiguous prefix with 404 "not found". (LocalStore takes prefixes of 6
    or more characters, where a collision would take thousands of commits to make.)"""
    store, repo = lakefs_store, lakefs_repo
    made, first_chars = [], defaultdict(list)
    while not any(len(ids) > 1 for ids in first_chars.values()):
        commit = commit_files(store, repo, {"n.txt": b"%d" % len(made)})
        made.append(commit.id)
        first_chars[commit.id[0]].append(commit.id)
    prefix = next(char for char, ids in first_chars.items() if len(ids) > 1)
    with pytest.raises(AmbiguousRefError, match=repr(prefix)):
        store.get_commit(repo, prefix)
    with pytest.raises(AmbiguousRefError):
        store.create_branch(repo, "dev", prefix)
    with pytest.raises(AmbiguousRefError):
        store.get(repo, prefix, "n.txt")
    unique = first_chars[prefix][0][:20]
    assert store.get_commit(repo, unique).id == first_chars[prefix][0]


def test_without_go_lakefs_cannot_be_built_and_says_why(monkeypatch, tmp_path):
    """The live tests skip with this reason on a machine without Go."""
    from deploy.lakefs import build

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(build.LakeFSUnavailable, match=r"Go is not installed.*Go >= 1\.26\.4"):
        build.find_go()
    with pytest.raises(build.LakeFSUnavailable, match="Go is not installed"):
        build.build(tmp_path / "build")
    assert not (tmp_path / "build" / "bin").exists()


@pytestmark_lakefs
def test_open_store_finds_the_server_make_lakefs_started(lakefs_server, monkeypatch, tmp_path):
    """With no LAKECTL_* settings, the lakefs backend reads $FLEETLOOP_HOME/lakefs/lakectl.yaml."""
    from deploy.lakefs import server
    from resources.versioning.factory import open_store

    for name in [n for n in os.environ if n.startswith("LAKECTL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.lakectl.yaml
    monkeypatch.setenv("FLEETLOOP_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "lakefs").mkdir(parents=True)
    (tmp_path / "home" / "lakefs" / "lakectl.yaml").write_text(server._lakectl_yaml(*lakefs_server))
    store = open_store("lakefs")
    assert lakefs_server[0] in repr(store)
    name = f"fs-{os.urandom(5).hex()}"
    store.create_repository(name)
    try:
        assert name in [r.name for r in store.list_repositories()]
    finally:
        store.delete_repository(name)


@pytestmark_lakefs
def test_pyarrow_reads_a_committed_parquet_through_the_s3_gateway(
    lakefs_store, lakefs_server, lakefs_repo, tmp_path
):
    """An independent client: pyarrow's S3 filesystem on lakeFS's S3 gateway reads what the
    store wrote, by branch and by commit id, fetching row groups by range."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa
    from pyarrow import fs

    table = pa.table({"frame": list(range(1000)), "camera": ["front"] * 1000})
    source = tmp_path / "train.parquet"
    pq.write_table(table, source, row_group_size=100)
    lakefs_store.put(lakefs_repo, "main", "datasets/train.parquet", source.read_bytes())
    made = lakefs_store.commit(lakefs_repo, "main", "training set")
    endpoint, key_id, secret = lakefs_server
    gateway = fs.S3FileSystem(
        access_key=key_id,
        secret_key=secret,
        endpoint_override=endpoint.removeprefix("http://"),
        scheme="http",
        region="us-east-1",
        force_virtual_addressing=False,
    )
    for ref in ("main", made.id):
        read = pq.read_table(f"{lakefs_repo}/{ref}/datasets/train.parquet", filesystem=gateway)
        assert read.equals(table)


@pytestmark_lakefs
def test_pre_signed_transfers_put_the_bytes_on_s3_not_through_lakefs(lakefs_s3_server):
    """esti presign_test, in the store's terms: with pre-signing, the store uploads to and
    downloads from S3 URLs lakeFS signs, and lakeFS records the S3 address."""
    import lakefs

    from resources.versioning.lakefs_store import LakeFSStore

    endpoint, key_id, secret = lakefs_s3_server
    client = lakefs.Client(host=endpoint, username=key_id, password=secret)
    store = LakeFSStore(client)
    name = f"ps-{os.urandom(5).hex()}"
    store.create_repository(name)
    try:
        data = os.urandom(2 * 1024 * 1024 + 1)
        stat = store.put(name, "main", "raw/drive.bin", data, metadata={"Camera": "Front"})
        assert stat.physical_address.startswith("s3://fleetloop/lakefs/")
        assert (stat.size, stat.metadata) == (len(data), {"Camera": "Front"})
        objects = client.sdk_client.objects_api
        signed = objects.stat_object(name, "main", "raw/drive.bin", presign=True)
        assert signed.physical_address.startswith("http://127.0.0.1:")  # moto, not lakeFS
        assert not signed.physical_address.startswith(endpoint)
        store.commit(name, "main", "drive")
        assert store.get(name, "main", "raw/drive.bin") == data
    finally:
        store.delete_repository(name)
