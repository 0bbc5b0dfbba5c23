"""SDK-boundary tests of `LakeFSStore`, in the style of the lakeFS wrapper's own unit tests.

The `lakefs_sdk` API classes are patched (`monkeypatch.setattr(lakefs_sdk.BranchesApi, ...)`), so
each test sees the exact arguments the store sends and plays back what a lakeFS server answers,
failures included. Nothing reaches the network: every unpatched SDK call and every raw HTTP
request fails the test.
"""

from __future__ import annotations

import http
import io
import json
from datetime import UTC, datetime
from typing import Any

import lakefs
import lakefs_sdk
import pytest
import urllib3
from lakefs_sdk.exceptions import ApiException, NotFoundException

from resources.versioning import (
    AlreadyExistsError,
    AmbiguousRefError,
    BackendError,
    Change,
    ChangeType,
    CommonPrefix,
    ConflictError,
    DirtyBranchError,
    EmptyCommitError,
    InvalidArgumentError,
    InvalidNameError,
    MergeConflictError,
    ObjectNotFoundError,
    ObjectStat,
    Ref,
    RefNotFoundError,
    Repository,
    RepositoryNotFoundError,
)
from resources.versioning.lakefs_store import NAMESPACE_ENV, LakeFSStore

HOST = "http://lakefs.test:8000"
REPO = "drive-data"
NAMESPACE = "s3://fleet-bucket/lakefs"
HEAD = "a" * 64
PARENT = "b" * 64
OTHER = "c" * 64


# -- fixtures and fakes ---------------------------------------------------------------------


class SDK:
    """Patches `lakefs_sdk` API methods and records what the store sent to each one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self._monkeypatch = monkeypatch
        self.calls: list[tuple[str, tuple, dict]] = []

    def answer(self, api: type, method: str, *results: Any) -> None:
        """Answer `api.method` with `results` in turn (the last one repeats); an exception in
        the sequence is raised, a callable is called with the request's arguments."""
        queue = list(results)

        def fake(_self, *args, **kwargs):
            self.calls.append((method, args, kwargs))
            result = queue.pop(0) if len(queue) > 1 else queue[0] if queue else None
            if isinstance(result, BaseException):
                raise result
            return result(*args, **kwargs) if callable(result) else result

        self._monkeypatch.setattr(api, method, fake)

    def sent(self, method: str) -> list[tuple[tuple, dict]]:
        return [(args, kwargs) for name, args, kwargs in self.calls if name == method]

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected SDK or network call: {args[1:3]}")

    monkeypatch.setattr(lakefs_sdk.ApiClient, "call_api", refuse)
    monkeypatch.setattr(urllib3.PoolManager, "urlopen", refuse)


@pytest.fixture
def sdk(monkeypatch) -> SDK:
    return SDK(monkeypatch)


@pytest.fixture
def client() -> lakefs.Client:
    return lakefs.Client(username="AKIAIOSFODNN7EXAMPLE", password="dummy-secret", host=HOST)


@pytest.fixture
def store(client, monkeypatch) -> LakeFSStore:
    monkeypatch.delenv(NAMESPACE_ENV, raising=False)
    return LakeFSStore(client, storage_namespace_root=NAMESPACE, pre_sign=False)


def api_error(status: int, message: str = "", cls: type[ApiException] = ApiException):
    exc = cls(status=status, reason=http.HTTPStatus(status).phrase)
    exc.body = json.dumps({"message": message}).encode()
    return exc


def page(model: type, results: list, next_offset: str = "") -> Any:
    pagination = lakefs_sdk.Pagination(
        has_more=bool(next_offset), next_offset=next_offset, results=len(results), max_per_page=1000
    )
    return model(pagination=pagination, results=results)


def sdk_repository(name: str = REPO, branch: str = "main") -> lakefs_sdk.Repository:
    return lakefs_sdk.Repository(
        id=name, creation_date=1, default_branch=branch, storage_namespace=f"{NAMESPACE}/{name}"
    )


def sdk_commit(commit_id: str = HEAD, **fields: Any) -> lakefs_sdk.Commit:
    values = {
        "id": commit_id,
        "parents": [PARENT],
        "committer": "fleetloop",
        "message": "add rain slice",
        "creation_date": 1_700_000_000,
        "meta_range_id": "m" * 64,
        "metadata": {"run": "42"},
    }
    return lakefs_sdk.Commit(**(values | fields))


def sdk_stats(path: str = "slices/rain.parquet", **fields: Any) -> lakefs_sdk.ObjectStats:
    values = {
        "path": path,
        "path_type": "object",
        "physical_address": f"{NAMESPACE}/{REPO}/data/abc",
        "checksum": "etag-1",
        "size_bytes": 11,
        "mtime": 1_700_000_100,
        "metadata": {"origin": "fleet"},
        "content_type": "application/x-parquet",
    }
    return lakefs_sdk.ObjectStats(**(values | fields))


def diff_entry(path: str, kind: str, path_type: str = "object") -> lakefs_sdk.Diff:
    return lakefs_sdk.Diff(type=kind, path=path, path_type=path_type, size_bytes=1)


def storage_config(**fields: Any) -> lakefs_sdk.Config:
    values = {
        "blockstore_type": "s3",
        "blockstore_namespace_example": "s3://bucket/",
        "blockstore_namespace_ValidityRegex": "^s3://",
        "pre_sign_support": True,
        "pre_sign_support_ui": False,
        "import_support": False,
        "import_validity_regex": "^s3://",
    }
    return lakefs_sdk.Config(
        version_config=lakefs_sdk.VersionConfig(version="1.0.0"),
        storage_config=lakefs_sdk.StorageConfig(**(values | fields)),
    )


# -- configuration --------------------------------------------------------------------------


def test_client_comes_from_lakectl_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LAKECTL_CONFIG_FILE", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", "http://lakefs.example:8000")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", "secret")
    store = LakeFSStore()
    assert "lakefs.example:8000" in repr(store)


def test_missing_configuration_says_what_to_set(monkeypatch, tmp_path):
    monkeypatch.setenv("LAKECTL_CONFIG_FILE", str(tmp_path / "absent.yaml"))
    for name in (
        "LAKECTL_SERVER_ENDPOINT_URL",
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY",
        "LAKECTL_CREDENTIALS_SESSION_TOKEN",
        "LAKECTL_CREDENTIALS_PROVIDER_TYPE",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BackendError, match="LAKECTL_SERVER_ENDPOINT_URL"):
        LakeFSStore()


# -- repositories ---------------------------------------------------------------------------


def test_create_repository_sends_namespace_and_default_branch(store, sdk):
    sdk.answer(lakefs_sdk.RepositoriesApi, "create_repository", sdk_repository(branch="trunk"))
    created = store.create_repository(REPO, "trunk")
    ((creation,), _) = sdk.sent("create_repository")[0]
    assert creation.name == REPO
    assert creation.storage_namespace == f"{NAMESPACE}/{REPO}"
    assert creation.default_branch == "trunk"
    assert created == Repository(REPO, "trunk", f"{NAMESPACE}/{REPO}")


@pytest.mark.parametrize(
    ("root", "expected"),
    [("local://", "local://drive-data"), ("s3://bucket/prefix/", "s3://bucket/prefix/drive-data")],
)
def test_namespace_root_from_environment(client, sdk, monkeypatch, root, expected):
    monkeypatch.setenv(NAMESPACE_ENV, root)
    sdk.answer(lakefs_sdk.RepositoriesApi, "create_repository", sdk_repository())
    LakeFSStore(client).create_repository(REPO)
    assert sdk.sent("create_repository")[0][0][0].storage_namespace == expected


def test_namespace_falls_back_to_server_default_prefix(client, sdk, monkeypatch):
    monkeypatch.delenv(NAMESPACE_ENV, raising=False)
    sdk.answer(
        lakefs_sdk.ConfigApi, "get_config", storage_config(default_namespace_prefix="s3://d")
    )
    sdk.answer(lakefs_sdk.RepositoriesApi, "create_repository", sdk_repository())
    LakeFSStore(client).create_repository(REPO)
    assert sdk.sent("create_repository")[0][0][0].storage_namespace == "s3://d/drive-data"


def test_no_namespace_anywhere_is_refused_before_creating(client, sdk, monkeypatch):
    monkeypatch.delenv(NAMESPACE_ENV, raising=False)
    sdk.answer(lakefs_sdk.ConfigApi, "get_config", storage_config())
    with pytest.raises(InvalidArgumentError, match=NAMESPACE_ENV):
        LakeFSStore(client).create_repository(REPO)
    assert "create_repository" not in sdk.names()


def test_create_existing_repository(store, sdk):
    sdk.answer(lakefs_sdk.RepositoriesApi, "create_repository", api_error(409, "not unique"))
    listing = page(lakefs_sdk.RepositoryList, [sdk_repository()])
    sdk.answer(lakefs_sdk.RepositoriesApi, "list_repositories", listing)
    sdk.answer(lakefs_sdk.RepositoriesApi, "get_repository", sdk_repository())
    with pytest.raises(AlreadyExistsError, match="repository 'drive-data' already exists"):
        store.create_repository(REPO)
    assert store.create_repository(REPO, exist_ok=True).name == REPO
    assert sdk.sent("get_repository")[-1][0] == (REPO,)
    assert sdk.sent("list_repositories")[-1][1] == {"prefix": REPO, "amount": 1}


def test_name_of_a_repository_deleted_moments_ago_is_waited_for(store, sdk):
    """lakeFS answers "not unique" while its repository cache still holds a deleted record;
    the KV-backed listing says the name is free, so the store waits and creates it."""
    sdk.answer(
        lakefs_sdk.RepositoriesApi,
        "create_repository",
        api_error(409, "error creating repository: not unique"),
        sdk_repository(),
    )
    sdk.answer(lakefs_sdk.RepositoriesApi, "list_repositories", page(lakefs_sdk.RepositoryList, []))
    assert store.create_repository(REPO).name == REPO
    assert len(sdk.sent("create_repository")) == 2


def test_namespace_left_by_a_deleted_repository_gets_a_fresh_suffix(store, sdk):
    in_use = "failed to create repository: found lakeFS objects: storage namespace already in use"
    sdk.answer(
        lakefs_sdk.RepositoriesApi, "create_repository", api_error(400, in_use), sdk_repository()
    )
    store.create_repository(REPO)
    first, second = (args[0].storage_namespace for args, _ in sdk.sent("create_repository"))
    assert first == f"{NAMESPACE}/{REPO}"
    assert second.startswith(f"{NAMESPACE}/{REPO}-") and len(second) == len(first) + 9


def test_refused_storage_namespace_points_at_the_setting(store, sdk):
    message = "storage namespace: invalid value"
    sdk.answer(lakefs_sdk.RepositoriesApi, "create_repository", api_error(400, message))
    with pytest.raises(InvalidArgumentError, match="FLEETLOOP_LAKEFS_NAMESPACE"):
        store.create_repository(REPO)


def test_get_repository(store, sdk):
    sdk.answer(lakefs_sdk.RepositoriesApi, "get_repository", sdk_repository())
    assert store.get_repository(REPO) == Repository(REPO, "main", f"{NAMESPACE}/{REPO}")
    assert sdk.sent("get_repository") == [((REPO,), {})]


def test_get_missing_repository(store, sdk):
    sdk.answer(
        lakefs_sdk.RepositoriesApi,
        "get_repository",
        api_error(404, "repository not found", NotFoundException),
    )
    with pytest.raises(RepositoryNotFoundError, match="repository 'drive-data' not found"):
        store.get_repository(REPO)


def test_list_repositories_follows_pages(store, sdk):
    sdk.answer(
        lakefs_sdk.RepositoriesApi,
        "list_repositories",
        page(lakefs_sdk.RepositoryList, [sdk_repository("alpha")], next_offset="alpha"),
        page(lakefs_sdk.RepositoryList, [sdk_repository("beta")]),
    )
    assert [r.name for r in store.list_repositories()] == ["alpha", "beta"]
    (_, first), (_, second) = sdk.sent("list_repositories")
    assert first["amount"] == 1000
    assert second["after"] == "alpha"


def test_delete_repository(store, sdk):
    sdk.answer(lakefs_sdk.RepositoriesApi, "delete_repository", None)
    store.delete_repository(REPO)
    assert sdk.sent("delete_repository") == [((REPO,), {})]
    sdk.answer(lakefs_sdk.RepositoriesApi, "delete_repository", api_error(404, "not found"))
    with pytest.raises(RepositoryNotFoundError):
        store.delete_repository(REPO)


# -- branches and tags ----------------------------------------------------------------------


def test_create_branch_sends_name_and_source(store, sdk):
    sdk.answer(lakefs_sdk.BranchesApi, "create_branch", HEAD)
    sdk.answer(lakefs_sdk.BranchesApi, "get_branch", lakefs_sdk.Ref(id="rain", commit_id=HEAD))
    assert store.create_branch(REPO, "rain", "main~1") == Ref("rain", HEAD)
    ((repo, creation), _) = sdk.sent("create_branch")[0]
    assert (repo, creation.name, creation.source) == (REPO, "rain", "main~1")
    assert not sdk.sent("get_branch")  # lakeFS's answer is the new branch's commit id


def test_create_existing_branch(store, sdk):
    sdk.answer(lakefs_sdk.BranchesApi, "create_branch", api_error(409, "branch already exists"))
    sdk.answer(lakefs_sdk.BranchesApi, "get_branch", lakefs_sdk.Ref(id="rain", commit_id=OTHER))
    with pytest.raises(AlreadyExistsError, match="branch 'rain' in repository 'drive-data'"):
        store.create_branch(REPO, "rain", "main")
    assert store.create_branch(REPO, "rain", "main", exist_ok=True) == Ref("rain", OTHER)


@pytest.mark.parametrize(
    ("message", "error", "text"),
    [
        ("not found", RefNotFoundError, "ref 'ghost' not found in repository 'drive-data'"),
        ("repository not found", RepositoryNotFoundError, "repository 'drive-data' not found"),
    ],
)
def test_create_branch_from_missing_source(store, sdk, message, error, text):
    sdk.answer(lakefs_sdk.BranchesApi, "create_branch", api_error(404, message))
    with pytest.raises(error, match=text):
        store.create_branch(REPO, "rain", "ghost")


def test_get_branch(store, sdk):
    sdk.answer(lakefs_sdk.BranchesApi, "get_branch", lakefs_sdk.Ref(id="main", commit_id=HEAD))
    assert store.get_branch(REPO, "main") == Ref("main", HEAD)
    sdk.answer(lakefs_sdk.BranchesApi, "get_branch", api_error(404, "branch not found"))
    with pytest.raises(RefNotFoundError, match="branch 'nope' not found in repository"):
        store.get_branch(REPO, "nope")


def test_list_branches_and_tags(store, sdk):
    refs = [lakefs_sdk.Ref(id="main", commit_id=HEAD), lakefs_sdk.Ref(id="rain", commit_id=OTHER)]
    sdk.answer(lakefs_sdk.BranchesApi, "list_branches", page(lakefs_sdk.RefList, refs))
    sdk.answer(lakefs_sdk.TagsApi, "list_tags", page(lakefs_sdk.RefList, refs[:1]))
    assert store.list_branches(REPO) == [Ref("main", HEAD), Ref("rain", OTHER)]
    assert store.list_tags(REPO) == [Ref("main", HEAD)]
    assert sdk.sent("list_branches")[0] == ((REPO,), {"amount": 1000})
    sdk.answer(lakefs_sdk.TagsApi, "list_tags", api_error(404, "repository not found"))
    with pytest.raises(RepositoryNotFoundError):
        store.list_tags(REPO)


def test_delete_branch(store, sdk):
    sdk.answer(lakefs_sdk.BranchesApi, "delete_branch", None)
    store.delete_branch(REPO, "rain")
    assert sdk.sent("delete_branch") == [((REPO, "rain"), {})]


def test_delete_default_branch_is_refused(store, sdk):
    error = api_error(400, "cannot delete repository default branch")
    sdk.answer(lakefs_sdk.BranchesApi, "delete_branch", error)
    with pytest.raises(InvalidArgumentError, match="default branch"):
        store.delete_branch(REPO, "main")


def test_create_tag_sends_id_and_ref(store, sdk):
    sdk.answer(lakefs_sdk.TagsApi, "create_tag", lakefs_sdk.Ref(id="v1", commit_id=HEAD))
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit(HEAD))
    assert store.create_tag(REPO, "v1.0", "main") == Ref("v1.0", HEAD)
    ((repo, creation), _) = sdk.sent("create_tag")[0]
    assert (repo, creation.id, creation.ref) == (REPO, "v1.0", "main")
    assert sdk.sent("get_commit")[0][0] == (REPO, "v1.0")


def test_existing_tag_is_immutable(store, sdk):
    sdk.answer(lakefs_sdk.TagsApi, "create_tag", api_error(409, "tag already exists"))
    targets = {"v1": sdk_commit(HEAD), "main": sdk_commit(HEAD), "rain": sdk_commit(OTHER)}
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", lambda repo, ref: targets[ref])
    assert store.create_tag(REPO, "v1", "main", exist_ok=True) == Ref("v1", HEAD)
    with pytest.raises(AlreadyExistsError, match="tags are immutable"):
        store.create_tag(REPO, "v1", "rain", exist_ok=True)
    with pytest.raises(AlreadyExistsError, match="tag 'v1' already exists"):
        store.create_tag(REPO, "v1", "main")


def test_delete_tag(store, sdk):
    sdk.answer(lakefs_sdk.TagsApi, "delete_tag", None)
    store.delete_tag(REPO, "v1")
    assert sdk.sent("delete_tag") == [((REPO, "v1"), {})]
    sdk.answer(lakefs_sdk.TagsApi, "delete_tag", api_error(404, "tag not found"))
    with pytest.raises(RefNotFoundError, match="tag 'v1' not found"):
        store.delete_tag(REPO, "v1")


# -- objects: writing -----------------------------------------------------------------------


class RawUpload:
    """The wrapper uploads through the client's urllib3 pool, not an API method."""

    def __init__(self, status: int = 201, body: bytes | None = None):
        self.status, self.body = status, body
        self.requests: list[dict] = []

    def __call__(self, **request):
        request["body"] = request["body"].read()
        self.requests.append(request)
        body = self.body if self.body is not None else sdk_stats().to_json().encode()
        return urllib3.HTTPResponse(body=body, status=self.status, reason="")


@pytest.fixture
def upload(client, monkeypatch) -> RawUpload:
    fake = RawUpload()
    pool = client.sdk_client.objects_api.api_client.rest_client.pool_manager
    monkeypatch.setattr(pool, "request", fake)
    return fake


def test_put_bytes(store, sdk, upload):
    stat = store.put(
        REPO,
        "main",
        "slices/rain.parquet",
        b"rain frames",
        content_type="application/x-parquet",
        metadata={"origin": "fleet"},
    )
    (request,) = upload.requests
    assert request["method"] == "POST"
    assert request["url"].startswith(f"{HOST}/api/v1/repositories/{REPO}/branches/main/objects")
    assert "path=slices%2Frain.parquet" in request["url"]
    assert request["headers"]["Content-Type"] == "application/x-parquet"
    assert request["headers"]["x-lakefs-meta-origin"] == "fleet"
    assert request["body"] == b"rain frames"
    assert sdk.sent("stat_object") == []  # the upload's answer is the stat: no second call
    assert stat == ObjectStat(
        path="slices/rain.parquet",
        checksum="etag-1",
        size=11,
        content_type="application/x-parquet",
        metadata={"origin": "fleet"},
        physical_address=f"{NAMESPACE}/{REPO}/data/abc",
        mtime=datetime.fromtimestamp(1_700_000_100, UTC),
    )


class ChunkedSource(io.RawIOBase):
    """A file object that refuses to be read whole and records the size of every read."""

    def __init__(self, data: bytes):
        self._data, self.reads = io.BytesIO(data), []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size is not None and size > 0, "the store read the whole file at once"
        self.reads.append(size)
        return self._data.read(size)


def test_put_streams_a_file_object_in_chunks(store, sdk, upload):
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats(size_bytes=3_000_000))
    data = bytes(range(256)) * 11_719
    source = ChunkedSource(data)
    store.put(REPO, "main", "raw/drives/d1.parquet", source)
    assert upload.requests[0]["body"] == data
    assert len(source.reads) >= 3 and max(source.reads) <= 1024 * 1024


def test_put_to_missing_branch(store, sdk, monkeypatch, client):
    fake = RawUpload(status=404, body=json.dumps({"message": "branch 'nope' not found"}).encode())
    pool = client.sdk_client.objects_api.api_client.rest_client.pool_manager
    monkeypatch.setattr(pool, "request", fake)
    with pytest.raises(RefNotFoundError, match="branch 'nope' not found in repository"):
        store.put(REPO, "nope", "a.txt", b"x")


def test_put_pre_signed_links_the_staged_address(client, sdk, monkeypatch, upload):
    """With pre-signing the wrapper calls the SDK's staging API, which lets raw ApiException out."""
    store = LakeFSStore(client, storage_namespace_root=NAMESPACE, pre_sign=True)
    location = lakefs_sdk.StagingLocation(
        physical_address="s3://b/x", presigned_url="https://s3.test/x"
    )
    sdk.answer(lakefs_sdk.RepositoriesApi, "get_repository", sdk_repository())
    sdk.answer(lakefs_sdk.ConfigApi, "get_config", storage_config())
    sdk.answer(lakefs_sdk.StagingApi, "get_physical_address", location)
    sdk.answer(lakefs_sdk.StagingApi, "link_physical_address", sdk_stats())
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats())
    store.put(REPO, "main", "a.txt", b"abc", metadata={"k": "v"})
    assert upload.requests[0]["method"] == "PUT"
    assert upload.requests[0]["url"] == "https://s3.test/x"
    (_, linked) = sdk.sent("link_physical_address")[0]
    assert linked["staging_metadata"].user_metadata == {"k": "v"}
    assert linked["staging_metadata"].size_bytes == 3
    sdk.answer(lakefs_sdk.StagingApi, "link_physical_address", api_error(404, "branch not found"))
    with pytest.raises(RefNotFoundError):
        store.put(REPO, "main", "a.txt", b"abc")


def test_put_many_uploads_each_item_without_stat(store, sdk, upload):
    items = [(f"labels/{i}.json", b"%d" % i) for i in range(3)]
    assert store.put_many(REPO, "main", iter(items)) == 3
    assert sorted(r["body"] for r in upload.requests) == [b"0", b"1", b"2"]
    assert all("path=labels%2F" in r["url"] for r in upload.requests)
    assert sdk.calls == []


def test_put_many_checks_every_path_before_the_first_upload(store, upload):
    with pytest.raises(InvalidNameError, match="a//b"):
        store.put_many(REPO, "main", [("fine.txt", b"x"), ("a//b", b"x")])
    assert upload.requests == []


@pytest.mark.parametrize("data", ["text, not bytes", 42])
def test_put_refuses_non_binary_data(store, data):
    with pytest.raises(InvalidArgumentError, match="bytes or a binary file object"):
        store.put(REPO, "main", "a.txt", data)


def test_put_refuses_non_string_metadata(store):
    with pytest.raises(InvalidArgumentError, match="strings to strings"):
        store.put(REPO, "main", "a.txt", b"x", metadata={"n": 1})


# -- objects: reading -----------------------------------------------------------------------


class RawDownload:
    """Reads stream through the client's urllib3 pool (the SDK's get_object reads the whole
    body first); this serves an object's bytes from the Range header on, like lakeFS."""

    def __init__(self, data: bytes, status: int = 200, cut_at: int | None = None):
        self.data, self.status, self.cut_at = data, status, cut_at
        self.requests: list[dict] = []

    def __call__(self, method, url, headers, preload_content):
        self.requests.append({"method": method, "url": url, "headers": dict(headers)})
        if self.status != 200:
            body = json.dumps({"message": "disk on fire"}).encode()
            return urllib3.HTTPResponse(body=body, status=self.status, reason="")
        start = int(headers.get("Range", "bytes=0-").removeprefix("bytes=").rstrip("-"))
        status = 206 if start else 200
        length = {"Content-Length": str(len(self.data) - start)}
        body = io.BytesIO(self.data[start : self.cut_at])  # a cut connection ends early
        return urllib3.HTTPResponse(
            body=body, status=status, headers=length, preload_content=preload_content
        )


@pytest.fixture
def download(client, monkeypatch):
    def serve(data: bytes, status: int = 200, cut_at: int | None = None) -> RawDownload:
        fake = RawDownload(data, status, cut_at)
        pool = client.sdk_client.objects_api.api_client.rest_client.pool_manager
        monkeypatch.setattr(pool, "request", fake)
        return fake

    return serve


def test_open_reader_streams_one_request_and_seeks_with_a_range(store, sdk, download):
    data = bytes(range(100))
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats(size_bytes=len(data)))
    served = download(data)
    with store.open_reader(REPO, "v1", "slices/rain.parquet") as reader:
        assert reader.seekable()
        assert reader.read(5) == data[:5]
        assert reader.read() == data[5:]
        assert len(served.requests) == 1
        reader.seek(90)
        assert reader.read(4) == data[90:94]
        reader.seek(-2, io.SEEK_END)
        assert reader.read() == data[98:]
    first, second, third = served.requests
    assert first["url"].startswith(f"{HOST}/api/v1/repositories/{REPO}/refs/v1/objects?")
    assert "path=slices%2Frain.parquet" in first["url"] and "presign=false" in first["url"]
    assert "Range" not in first["headers"] and first["headers"]["Authorization"]
    assert (second["headers"]["Range"], third["headers"]["Range"]) == ("bytes=90-", "bytes=98-")


def test_get_reads_whole_object_in_one_request(store, sdk, download):
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats())
    served = download(b"rain frames")
    assert store.get(REPO, "main", "slices/rain.parquet") == b"rain frames"
    assert len(served.requests) == 1


def test_open_reader_of_missing_object_fails_before_reading(store, sdk, download):
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", api_error(404, "not found"))
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit())
    served = download(b"")
    with pytest.raises(ObjectNotFoundError, match="object 'gone.txt' at ref 'main' not found"):
        store.open_reader(REPO, "main", "gone.txt")
    assert served.requests == []


def test_read_failure_mid_stream_is_translated(store, sdk, download):
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats())
    download(b"", status=500)
    reader = store.open_reader(REPO, "main", "slices/rain.parquet")
    with pytest.raises(BackendError, match="disk on fire"):
        reader.read()


def test_an_object_that_changed_since_its_stat_is_an_error_not_wrong_bytes(store, sdk, download):
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats(size_bytes=20))
    download(b"only ten b")
    with pytest.raises(BackendError, match="10 bytes now, not the 20"):
        store.get(REPO, "main", "slices/rain.parquet")


def test_a_cut_connection_is_an_error_not_a_short_read(store, sdk, download):
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats(size_bytes=20))
    download(b"twenty bytes exactly", cut_at=12)
    with pytest.raises(BackendError, match="Connection broken: IncompleteRead"):
        store.get(REPO, "main", "slices/rain.parquet")


def test_pre_sign_support_is_asked_once(client, sdk, download):
    store = LakeFSStore(client, storage_namespace_root=NAMESPACE)
    sdk.answer(lakefs_sdk.ConfigApi, "get_config", storage_config(pre_sign_support=True))
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats(size_bytes=3))
    served = download(b"abc")
    store.get(REPO, "main", "a.txt")
    store.get(REPO, "main", "a.txt")
    assert len(sdk.sent("get_config")) == 1
    assert all("presign=true" in r["url"] for r in served.requests)


@pytest.mark.parametrize(
    ("message", "error"),
    [("branch not found", RefNotFoundError), ("repository not found", RepositoryNotFoundError)],
)
def test_stat_tells_what_is_missing(store, sdk, message, error):
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", api_error(404, message, NotFoundException))
    with pytest.raises(error):
        store.stat(REPO, "main", "a.txt")
    assert "get_commit" not in sdk.names()


def test_plain_not_found_is_told_apart_by_resolving_the_ref(store, sdk):
    """lakeFS answers "not found" alike for a missing object and an unknown ref."""
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", api_error(404, "not found"))
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit(), api_error(404, "not found"))
    with pytest.raises(ObjectNotFoundError, match="object 'a.txt' at ref 'main' not found"):
        store.stat(REPO, "main", "a.txt")
    with pytest.raises(RefNotFoundError, match="ref 'ghost' not found"):
        store.stat(REPO, "ghost", "a.txt")
    assert [args for args, _ in sdk.sent("get_commit")] == [(REPO, "main"), (REPO, "ghost")]


def test_exists(store, sdk):
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats(), api_error(404, "not found"))
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit())
    assert store.exists(REPO, "main", "slices/rain.parquet")
    assert not store.exists(REPO, "main", "slices/rain.parquet")


def test_list_objects_sends_listing_arguments(store, sdk):
    results = [
        lakefs_sdk.ObjectStats(**(sdk_stats("frames/a.parquet").to_dict())),
        lakefs_sdk.ObjectStats(
            path="frames/b/", path_type="common_prefix", physical_address="", checksum="", mtime=0
        ),
    ]
    sdk.answer(lakefs_sdk.ObjectsApi, "list_objects", page(lakefs_sdk.ObjectStatsList, results))
    entries = list(
        store.list_objects(REPO, "main", "frames/", delimiter="/", after="frames/0", max_amount=5)
    )
    assert [type(e) for e in entries] == [ObjectStat, CommonPrefix]
    assert entries[1] == CommonPrefix("frames/b/")
    (_, kwargs) = sdk.sent("list_objects")[0]
    assert kwargs == {
        "repository": REPO,
        "ref": "main",
        "after": "frames/0",
        "prefix": "frames/",
        "delimiter": "/",
        "amount": 5,
    }


def test_list_objects_fails_at_the_call_and_pages_lazily(store, sdk):
    sdk.answer(lakefs_sdk.ObjectsApi, "list_objects", api_error(404, "not found"))
    with pytest.raises(RefNotFoundError, match="ref 'ghost' not found"):
        store.list_objects(REPO, "ghost")
    first = page(lakefs_sdk.ObjectStatsList, [sdk_stats("a")], next_offset="a")
    sdk.answer(lakefs_sdk.ObjectsApi, "list_objects", first, api_error(502, "overloaded"))
    listing = store.list_objects(REPO, "main")
    assert next(listing).path == "a"
    with pytest.raises(BackendError, match="HTTP 502 overloaded"):
        next(listing)


def test_list_objects_with_no_room_asks_nothing(store, sdk):
    assert list(store.list_objects(REPO, "main", max_amount=0)) == []
    assert sdk.calls == []


def test_delete_looks_the_object_up_first(store, sdk):
    """lakeFS answers 204 for deleting a path that is not there, so the store stats it first."""
    sdk.answer(lakefs_sdk.ObjectsApi, "stat_object", sdk_stats(), api_error(404, "not found"))
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit())
    sdk.answer(lakefs_sdk.ObjectsApi, "delete_object", None)
    store.delete(REPO, "main", "slices/rain.parquet")
    assert sdk.sent("delete_object") == [((REPO, "main", "slices/rain.parquet"), {})]
    with pytest.raises(ObjectNotFoundError, match="object 'gone' at ref 'main' not found"):
        store.delete(REPO, "main", "gone")
    assert len(sdk.sent("delete_object")) == 1


def test_uncommitted(store, sdk):
    entries = [diff_entry("a", "added"), diff_entry("b", "removed"), diff_entry("c", "changed")]
    sdk.answer(lakefs_sdk.BranchesApi, "diff_branch", page(lakefs_sdk.DiffList, entries))
    assert store.uncommitted(REPO, "main", "slices/") == [
        Change(ChangeType.ADDED, "a"),
        Change(ChangeType.REMOVED, "b"),
        Change(ChangeType.CHANGED, "c"),
    ]
    (args, kwargs) = sdk.sent("diff_branch")[0]
    assert args == (REPO, "main")
    assert (kwargs["prefix"], kwargs["amount"]) == ("slices/", 1000)


@pytest.mark.parametrize(
    ("path", "kind"),
    [(None, "reset"), ("slices/rain.parquet", "object"), ("slices/", "common_prefix")],
)
def test_reset(store, sdk, path, kind):
    sdk.answer(lakefs_sdk.BranchesApi, "reset_branch", None)
    store.reset(REPO, "main", path)
    ((repo, branch, creation), _) = sdk.sent("reset_branch")[0]
    assert (repo, branch, creation.type, creation.path) == (REPO, "main", kind, path)


def test_reset_translates_the_raw_sdk_error(store, sdk):
    """The wrapper's reset_changes lets lakefs_sdk's own exception through."""
    sdk.answer(lakefs_sdk.BranchesApi, "reset_branch", api_error(404, "branch not found"))
    with pytest.raises(RefNotFoundError, match="branch 'nope' not found"):
        store.reset(REPO, "nope")


# -- commits --------------------------------------------------------------------------------


def test_commit_sends_message_metadata_and_returns_the_record(store, sdk):
    sdk.answer(lakefs_sdk.CommitsApi, "commit", sdk_commit())
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit())
    commit = store.commit(REPO, "main", "add rain slice", metadata={"run": "42"})
    ((repo, branch, creation), _) = sdk.sent("commit")[0]
    assert (repo, branch) == (REPO, "main")
    assert (creation.message, creation.metadata, creation.allow_empty) == (
        "add rain slice",
        {"run": "42"},
        False,
    )
    assert not sdk.sent("get_commit")  # lakeFS's answer is the commit
    assert commit.id == HEAD and len(commit.id) == 64
    assert commit.parents == (PARENT,)
    assert commit.metadata == {"run": "42"}
    assert commit.committer == "fleetloop"
    assert commit.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_empty_commit(store, sdk):
    sdk.answer(lakefs_sdk.CommitsApi, "commit", api_error(400, "no changes"))
    with pytest.raises(EmptyCommitError, match="allow_empty=True"):
        store.commit(REPO, "main", "nothing")
    sdk.answer(lakefs_sdk.CommitsApi, "commit", sdk_commit())
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit())
    store.commit(REPO, "main", "checkpoint", allow_empty=True)
    assert sdk.sent("commit")[-1][0][2].allow_empty is True


def test_sdk_model_validation_becomes_invalid_argument(store, sdk):
    with pytest.raises(InvalidArgumentError, match="refused the arguments"):
        store.commit(REPO, "main", 42)  # type: ignore[arg-type]
    assert sdk.calls == []


def test_get_commit_of_a_ref_expression(store, sdk):
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit(parents=[]))
    assert store.resolve(REPO, "main~2") == HEAD
    assert store.get_commit(REPO, f"{HEAD}^2").parents == ()
    assert [args for args, _ in sdk.sent("get_commit")] == [(REPO, "main~2"), (REPO, f"{HEAD}^2")]


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("commit not found", RefNotFoundError),
        ("reference is ambiguous: not found", AmbiguousRefError),
    ],
)
def test_get_commit_errors(store, sdk, message, error):
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", api_error(404, message))
    branches = page(lakefs_sdk.RefList, [lakefs_sdk.Ref(id="main", commit_id=HEAD)])
    sdk.answer(lakefs_sdk.BranchesApi, "list_branches", branches)
    sdk.answer(lakefs_sdk.TagsApi, "list_tags", page(lakefs_sdk.RefList, []))
    sdk.answer(lakefs_sdk.RefsApi, "log_commits", page(lakefs_sdk.CommitList, [sdk_commit()]))
    with pytest.raises(error, match="ref 'aaaaaa'"):
        store.get_commit(REPO, "aaaaaa")


def test_a_prefix_lakefs_calls_missing_is_ambiguous_when_two_commits_share_it(store, sdk):
    """lakeFS answers 404 "not found" for a commit prefix matching several commits."""
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", api_error(404, "not found"))
    tags = page(lakefs_sdk.RefList, [lakefs_sdk.Ref(id="v1", commit_id=OTHER)])
    sdk.answer(lakefs_sdk.BranchesApi, "list_branches", page(lakefs_sdk.RefList, []))
    sdk.answer(lakefs_sdk.TagsApi, "list_tags", tags)
    history = [sdk_commit("ab" + "1" * 62), sdk_commit("ab" + "2" * 62), sdk_commit(OTHER)]
    sdk.answer(lakefs_sdk.RefsApi, "log_commits", page(lakefs_sdk.CommitList, history))
    with pytest.raises(AmbiguousRefError, match="'ab' is ambiguous.*ab1111111111, ab2222222222"):
        store.get_commit(REPO, "ab")
    with pytest.raises(RefNotFoundError, match="'abc'"):
        store.get_commit(REPO, "abc")
    with pytest.raises(RefNotFoundError, match="'main~9'"):
        store.get_commit(REPO, "main~9")  # not a prefix: nothing to tell apart
    assert len(sdk.sent("log_commits")) == 2


def test_log(store, sdk):
    commits = [sdk_commit(HEAD), sdk_commit(PARENT, parents=[])]
    sdk.answer(lakefs_sdk.RefsApi, "log_commits", page(lakefs_sdk.CommitList, commits))
    assert [c.id for c in store.log(REPO, "main")] == [HEAD, PARENT]
    assert [c.id for c in store.log(REPO, "main", max_amount=1)] == [HEAD]
    assert [kw["amount"] for _, kw in sdk.sent("log_commits")] == [1000, 1]
    assert sdk.sent("log_commits")[0][0] == (REPO, "main")


@pytest.mark.parametrize(("two_dot", "kind"), [(False, "three_dot"), (True, "two_dot")])
def test_diff(store, sdk, two_dot, kind):
    entries = [
        diff_entry("z", "added"),
        diff_entry("m", "changed"),
        diff_entry("d/", "prefix_changed", "common_prefix"),
        diff_entry("a", "removed"),
    ]
    sdk.answer(lakefs_sdk.RefsApi, "diff_refs", page(lakefs_sdk.DiffList, entries))
    assert store.diff(REPO, "main", "rain", prefix="", two_dot=two_dot) == [
        Change(ChangeType.REMOVED, "a"),
        Change(ChangeType.CHANGED, "m"),
        Change(ChangeType.ADDED, "z"),
    ]
    (_, kwargs) = sdk.sent("diff_refs")[0]
    assert (kwargs["left_ref"], kwargs["right_ref"], kwargs["type"]) == ("main", "rain", kind)
    assert "find_merge_base" not in sdk.names()


def test_three_dot_conflicts_get_the_change_right_made_since_the_merge_base(store, sdk):
    """lakeFS types a path both sides changed "conflict"; a removal on the right stays one."""
    three_dot = [diff_entry("gone", "conflict"), diff_entry("m", "conflict")]
    since_base = [
        diff_entry("gone", "removed"),
        diff_entry("m", "changed"),
        diff_entry("z", "added"),
    ]
    sdk.answer(
        lakefs_sdk.RefsApi,
        "diff_refs",
        page(lakefs_sdk.DiffList, three_dot + [diff_entry("z", "added")]),
        page(lakefs_sdk.DiffList, since_base),
    )
    base = lakefs_sdk.FindMergeBaseResult(
        base_commit_id=PARENT, source_commit_id=OTHER, destination_commit_id=HEAD
    )
    sdk.answer(lakefs_sdk.RefsApi, "find_merge_base", base)
    assert store.diff(REPO, "main", "rain") == [
        Change(ChangeType.REMOVED, "gone"),
        Change(ChangeType.CHANGED, "m"),
        Change(ChangeType.ADDED, "z"),
    ]
    assert sdk.sent("find_merge_base")[0][0] == (REPO, "rain", "main")
    (_, second) = sdk.sent("diff_refs")[1]
    assert (second["left_ref"], second["right_ref"], second["type"]) == (PARENT, "rain", "two_dot")


# -- merge and revert -----------------------------------------------------------------------


def clean_branch(sdk: SDK) -> None:
    sdk.answer(lakefs_sdk.BranchesApi, "diff_branch", page(lakefs_sdk.DiffList, []))


@pytest.mark.parametrize("strategy", [None, "source-wins", "dest-wins"])
def test_merge_sends_strategy_and_always_commits(store, sdk, strategy):
    clean_branch(sdk)
    sdk.answer(lakefs_sdk.RefsApi, "merge_into_branch", lakefs_sdk.MergeResult(reference=HEAD))
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit(parents=[PARENT, OTHER]))
    merged = store.merge(REPO, "rain", "main", metadata={"run": "7"}, strategy=strategy)
    assert merged.parents == (PARENT, OTHER)
    (args, kwargs) = sdk.sent("merge_into_branch")[0]
    assert args == (REPO, "rain", "main")
    merge = kwargs["merge"]
    assert (merge.strategy, merge.metadata, merge.allow_empty) == (strategy, {"run": "7"}, True)
    assert merge.message == "Merge 'rain' into 'main'"
    assert sdk.sent("diff_branch")[0][1]["amount"] == 1  # the dirty check asks for one entry


def test_merge_refuses_a_dirty_destination(store, sdk):
    sdk.answer(
        lakefs_sdk.BranchesApi, "diff_branch", page(lakefs_sdk.DiffList, [diff_entry("x", "added")])
    )
    with pytest.raises(DirtyBranchError, match="branch 'main' in repository 'drive-data'"):
        store.merge(REPO, "rain", "main")
    assert "merge_into_branch" not in sdk.names()


def test_merge_conflict_names_the_paths(store, sdk):
    clean_branch(sdk)
    sdk.answer(lakefs_sdk.RefsApi, "merge_into_branch", api_error(409, "conflict found"))
    entries = [
        diff_entry("labels/b.parquet", "conflict"),
        diff_entry("labels/new.parquet", "added"),
        diff_entry("labels/a.parquet", "conflict"),
    ]
    sdk.answer(lakefs_sdk.RefsApi, "diff_refs", page(lakefs_sdk.DiffList, entries))
    with pytest.raises(MergeConflictError, match="strategy='source-wins'") as caught:
        store.merge(REPO, "rain", "main")
    assert caught.value.paths == ["labels/a.parquet", "labels/b.parquet"]
    assert "labels/a.parquet, labels/b.parquet" in str(caught.value)
    (_, sent) = sdk.sent("diff_refs")[0]
    assert (sent["left_ref"], sent["right_ref"], sent["type"]) == ("main", "rain", "three_dot")


def test_merge_conflict_when_the_paths_cannot_be_listed(store, sdk):
    clean_branch(sdk)
    sdk.answer(lakefs_sdk.RefsApi, "merge_into_branch", api_error(409, "conflict found"))
    sdk.answer(lakefs_sdk.RefsApi, "diff_refs", api_error(500, "boom"))
    with pytest.raises(MergeConflictError, match="paths lakeFS did not list") as caught:
        store.merge(REPO, "rain", "main")
    assert caught.value.paths == []


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "Too many attempts, try again later"),
        (503, "Throughput exceeded. Slow down and retry"),
        (500, "branch is currently locked, try again later"),
    ],
)
def test_merge_lost_to_contention_is_retried_then_retryable(store, sdk, status, message):
    clean_branch(sdk)
    sdk.answer(lakefs_sdk.RefsApi, "merge_into_branch", api_error(status, message))
    with pytest.raises(ConflictError, match="retrying is safe") as caught:
        store.merge(REPO, "rain", "main")
    assert not isinstance(caught.value, MergeConflictError)
    assert len(sdk.sent("merge_into_branch")) == 6  # CONTENTION_RETRIES + 1
    sdk.answer(
        lakefs_sdk.RefsApi,
        "merge_into_branch",
        api_error(status, message),
        lakefs_sdk.MergeResult(reference=HEAD),
    )
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit(parents=[PARENT, OTHER]))
    assert store.merge(REPO, "rain", "main").id == HEAD


def test_merge_refused_by_a_hook_is_not_retried(store, sdk):
    """412 is a failed pre-merge hook: retrying cannot help, and a retry would run it again."""
    clean_branch(sdk)
    refusal = api_error(412, "pre-merge hook aborted, run id 'x': action failed")
    sdk.answer(lakefs_sdk.RefsApi, "merge_into_branch", refusal)
    with pytest.raises(BackendError, match="hook refused") as caught:
        store.merge(REPO, "rain", "main")
    assert not isinstance(caught.value, ConflictError)
    assert len(sdk.sent("merge_into_branch")) == 1


def test_merge_with_unknown_strategy_asks_nothing(store, sdk):
    with pytest.raises(InvalidArgumentError, match="unknown merge strategy"):
        store.merge(REPO, "rain", "main", strategy="ours")
    assert sdk.calls == []


def test_revert_sends_ref_and_parent_number(store, sdk):
    clean_branch(sdk)
    sdk.answer(lakefs_sdk.BranchesApi, "revert_branch", None)
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit(OTHER, parents=[HEAD]))
    reverted = store.revert(REPO, "main", HEAD, parent_number=1)
    ((repo, branch, creation), _) = sdk.sent("revert_branch")[0]
    assert (repo, branch, creation.ref, creation.parent_number) == (REPO, "main", HEAD, 1)
    assert reverted.id == OTHER
    assert sdk.sent("get_commit")[0][0] == (REPO, "main")


def test_revert_of_a_merge_commit_needs_a_parent(store, sdk):
    clean_branch(sdk)
    message = "must specify 1-based parent number for reverting merge commit"
    sdk.answer(lakefs_sdk.BranchesApi, "revert_branch", api_error(409, message))
    with pytest.raises(InvalidArgumentError, match="parent number"):
        store.revert(REPO, "main", HEAD)


def test_revert_refuses_bad_parent_number_and_dirty_branch(store, sdk):
    with pytest.raises(InvalidArgumentError, match="parent_number"):
        store.revert(REPO, "main", HEAD, parent_number=-1)
    assert sdk.calls == []
    sdk.answer(
        lakefs_sdk.BranchesApi, "diff_branch", page(lakefs_sdk.DiffList, [diff_entry("x", "added")])
    )
    with pytest.raises(DirtyBranchError, match="before reverting"):
        store.revert(REPO, "main", HEAD)


def test_transact_runs_branch_commit_merge_delete(store, sdk):
    sdk.answer(lakefs_sdk.BranchesApi, "create_branch", HEAD)
    sdk.answer(
        lakefs_sdk.BranchesApi,
        "get_branch",
        lambda repo, name: lakefs_sdk.Ref(id=name, commit_id=HEAD),
    )
    sdk.answer(lakefs_sdk.CommitsApi, "commit", sdk_commit(OTHER))
    sdk.answer(lakefs_sdk.CommitsApi, "get_commit", sdk_commit(OTHER))
    clean_branch(sdk)
    sdk.answer(lakefs_sdk.RefsApi, "merge_into_branch", lakefs_sdk.MergeResult(reference=HEAD))
    sdk.answer(lakefs_sdk.BranchesApi, "delete_branch", None)
    with store.transact(REPO, "main", "ingest drive 7") as branch:
        assert branch.startswith("main-txn-")
    assert [n for n in sdk.names() if n not in ("get_branch", "get_commit", "diff_branch")] == [
        "create_branch",
        "commit",
        "merge_into_branch",
        "delete_branch",
    ]
    assert sdk.sent("merge_into_branch")[0][0] == (REPO, branch, "main")


# -- error translation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "error", "text"),
    [
        (400, "branch id: invalid value", InvalidNameError, "rejected a name or path"),
        (400, "uncommitted changes (dirty branch)", DirtyBranchError, "uncommitted changes"),
        (401, "authentication required", BackendError, "LAKECTL_CREDENTIALS_ACCESS_KEY_ID"),
        (403, "operation not allowed", BackendError, "forbids this on branch 'main'"),
        (404, "branch not found", RefNotFoundError, "branch 'main' not found"),
        (409, "conflict", ConflictError, "retrying is safe"),
        (412, "Precondition failed", BackendError, "hook refused"),
        (429, "Too many attempts, try again later", ConflictError, "retrying is safe"),
        (503, "Throughput exceeded. Slow down and retry", ConflictError, "retrying is safe"),
        (500, "branch is currently locked, try again later", ConflictError, "locked"),
        (500, "database exploded", BackendError, "HTTP 500 database exploded"),
        (502, "", BackendError, "HTTP 502"),
    ],
)
@pytest.mark.parametrize("cls", [ApiException, NotFoundException])
def test_status_codes_become_store_errors(store, sdk, status, message, error, text, cls):
    sdk.answer(lakefs_sdk.BranchesApi, "get_branch", api_error(status, message, cls))
    with pytest.raises(error, match=text) as caught:
        store.get_branch(REPO, "main")
    assert isinstance(caught.value.__cause__, Exception)  # the SDK error stays chained


def test_body_without_json_still_gives_the_message(store, sdk):
    exc = ApiException(status=500, reason="Internal Server Error")
    exc.body = b"<html>bad gateway</html>"
    sdk.answer(lakefs_sdk.BranchesApi, "get_branch", exc)
    with pytest.raises(BackendError, match="bad gateway"):
        store.get_branch(REPO, "main")


def test_unreachable_server(store, sdk):
    error = urllib3.exceptions.MaxRetryError(None, "/api/v1", "Connection refused")
    sdk.answer(lakefs_sdk.BranchesApi, "get_branch", error)
    with pytest.raises(BackendError, match="cannot reach the lakeFS server"):
        store.get_branch(REPO, "main")


# -- names are checked before any call ------------------------------------------------------

INVALID_CALLS = {
    "repository name": lambda s: s.create_repository("Drive_Data"),
    "default branch": lambda s: s.create_repository(REPO, "-main"),
    "get repository": lambda s: s.get_repository("ab"),
    "delete repository": lambda s: s.delete_repository("UPPER"),
    "branch name": lambda s: s.create_branch(REPO, "rain slice", "main"),
    "branch source": lambda s: s.create_branch(REPO, "rain", "main; rm -rf"),
    "hex branch": lambda s: s.get_branch(REPO, "deadbeef"),
    "list branches": lambda s: s.list_branches("x"),
    "delete branch": lambda s: s.delete_branch(REPO, "-x"),
    "tag name": lambda s: s.create_tag(REPO, ".v1", "main"),
    "tag ref": lambda s: s.create_tag(REPO, "v1", "main~x"),
    "list tags": lambda s: s.list_tags("No"),
    "delete tag": lambda s: s.delete_tag(REPO, "v 1"),
    "absolute path": lambda s: s.put(REPO, "main", "/etc/passwd", b"x"),
    "traversal": lambda s: s.put(REPO, "main", "a/../b", b"x"),
    "put branch": lambda s: s.put(REPO, "main/x", "a", b"x"),
    "empty path": lambda s: s.open_reader(REPO, "main", ""),
    "stat ref": lambda s: s.stat(REPO, "bad ref!", "a"),
    "list prefix": lambda s: s.list_objects(REPO, "main", "../x"),
    "list ref": lambda s: s.list_objects(REPO, "", "x"),
    "delete path": lambda s: s.delete(REPO, "main", "a\x00b"),
    "uncommitted prefix": lambda s: s.uncommitted(REPO, "main", "/x"),
    "reset path": lambda s: s.reset(REPO, "main", "a//b"),
    "commit branch": lambda s: s.commit(REPO, "a/b", "message"),
    "get commit": lambda s: s.get_commit(REPO, "main other"),
    "log": lambda s: s.log(REPO, ""),
    "diff": lambda s: s.diff(REPO, "main", "x y"),
    "diff prefix": lambda s: s.diff(REPO, "main", "rain", prefix="a//"),
    "merge source": lambda s: s.merge(REPO, "rain?", "main"),
    "merge destination": lambda s: s.merge(REPO, "rain", "main~1"),
    "revert ref": lambda s: s.revert(REPO, "main", "HEAD~~x"),
    "revert branch": lambda s: s.revert(REPO, "feature/x", HEAD),
}


@pytest.mark.parametrize("call", INVALID_CALLS.values(), ids=INVALID_CALLS.keys())
def test_invalid_names_never_reach_the_server(store, sdk, call):
    with pytest.raises(InvalidNameError):
        call(store)
    assert sdk.calls == []
