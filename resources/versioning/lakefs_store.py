"""`LakeFSStore`: the versioned store on a lakeFS server, through the maintained `lakefs` SDK.

The `lakefs` wrapper supplies the client (configured from `LAKECTL_*` variables or
`~/.lakectl.yaml`, never from code), the domain objects, paging and the object reader and writer.
A few calls go to its `sdk_client` directly: stat and delete, because the wrapper folds every 404
of an object call into "object not found" (a missing branch would read as a missing file), commit
and branch creation, whose wrapper versions drop lakeFS's answer and ask again for it, the
repository, branch and tag listings, whose wrapper versions drop each entry's record, object
metadata that an HTTP header cannot carry, and reads, which stream one GET instead of one
request per chunk. Names are checked before any call; every failure leaves as a store exception
(lakefs_errors.py).

Where lakeFS answers differently from the protocol, the adapter makes up the difference: a
delete of a missing path (204 on lakeFS) is looked up first; a commit prefix lakeFS calls "not
found" is checked for ambiguity; a repository name freed moments ago is retried while lakeFS's
repository cache still holds it, and a storage namespace a deleted repository left behind gets
a fresh suffix; three-dot diff entries lakeFS marks "conflict" get the change the right side made.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import lakefs
import lakefs_sdk
from lakefs.exceptions import ConflictException, LakeFSException
from lakefs.reference import generate_listing

from resources.versioning.errors import (
    AlreadyExistsError,
    BackendError,
    InvalidArgumentError,
    RepositoryNotFoundError,
)
from resources.versioning.lakefs_errors import (
    CONFIG_HINT,
    repository_record,
    sdk_errors,
    status_and_message,
)
from resources.versioning.lakefs_history import LakeFSHistory
from resources.versioning.lakefs_objects import PAGE, LakeFSObjects
from resources.versioning.names import (
    check_branch_name,
    check_ref,
    check_repository_name,
    check_tag_name,
)
from resources.versioning.protocol import VersionedStore
from resources.versioning.records import (
    Ref,
    Repository,
)

NAMESPACE_ENV = "FLEETLOOP_LAKEFS_NAMESPACE"
NAME_REUSE_WAIT = 15.0  # s; lakeFS caches a repository record ~5-7 s after its deletion


class LakeFSStore(LakeFSObjects, LakeFSHistory, VersionedStore):
    """The store on a lakeFS server. `client` is an already-built `lakefs.Client` (tests pass
    one; by default it comes from `LAKECTL_*` / `~/.lakectl.yaml`); new repositories live under
    `storage_namespace_root` (default `$FLEETLOOP_LAKEFS_NAMESPACE`, then the server's default
    prefix); `pre_sign` forces or forbids pre-signed transfers (default: ask the server once)."""

    def __init__(
        self,
        client: lakefs.Client | None = None,
        *,
        storage_namespace_root: str | None = None,
        pre_sign: bool | None = None,
    ):
        self._client = client if client is not None else _client_from_environment()
        self._namespace_root = storage_namespace_root or os.environ.get(NAMESPACE_ENV) or None
        self._pre_sign = pre_sign

    def __repr__(self) -> str:
        return f"LakeFSStore({self._client.config.host!r})"

    def web_endpoint(self) -> str | None:
        # The client's host is the API's address (`<endpoint>/api/v1`); the UI is at its root.
        host = self._client.config.host.rstrip("/")
        return host.removesuffix("/api/v1")

    # Builders of wrapper objects; each checks its names first, so bad input never leaves.
    def _repo(self, name: str) -> lakefs.Repository:
        return lakefs.Repository(check_repository_name(name), client=self._client)

    def _branch(self, repo: str, name: str) -> lakefs.Branch:
        check_repository_name(repo)
        return lakefs.Branch(repo, check_branch_name(name), client=self._client)

    def _ref(self, repo: str, ref: str) -> lakefs.Reference:
        check_repository_name(repo)
        return lakefs.Reference(repo, check_ref(ref), client=self._client)

    def _presign(self) -> bool:
        if self._pre_sign is None:
            self._pre_sign = bool(self._client.storage_config.pre_sign_support)
        return self._pre_sign

    def _namespace(self, name: str) -> str:
        root = self._namespace_root
        if root is None:
            with sdk_errors(None, "the server's storage configuration"):
                root = self._client.storage_config.default_namespace_prefix
        if not root:
            raise InvalidArgumentError(
                f"no storage namespace for repository {name!r}: set {NAMESPACE_ENV} "
                "(e.g. s3://bucket/prefix or local://)"
            )
        return root + name if root.endswith("/") else f"{root}/{name}"

    # -- repositories ---------------------------------------------------------------------
    def create_repository(
        self, name: str, default_branch: str = "main", *, exist_ok: bool = False
    ) -> Repository:
        """Create a repository at `<namespace root>/<name>`. A deleted repository leaves its
        objects in its namespace, which lakeFS then refuses to reuse, so a re-created name gets
        `<name>-<8 hex>`; its name stays taken while lakeFS's repository cache holds the old
        record (a few seconds), so that is waited out."""
        check_repository_name(name)
        check_branch_name(default_branch)
        namespace = self._namespace(name)
        api = self._client.sdk_client.repositories_api
        where = namespace
        deadline = time.monotonic() + NAME_REUSE_WAIT
        while True:
            creation = lakefs_sdk.RepositoryCreation(
                name=name, storage_namespace=where, default_branch=default_branch
            )
            with sdk_errors(name, missing=RepositoryNotFoundError):
                try:
                    return repository_record(api.create_repository(creation))
                except lakefs_sdk.ApiException as exc:
                    status, message = status_and_message(exc)
                    if status == 400 and "already in use" in message:
                        where = f"{namespace}-{uuid.uuid4().hex[:8]}"
                        continue
                    if status != 409:
                        raise
            if self._listed(name):
                if exist_ok:
                    return self.get_repository(name)
                raise AlreadyExistsError(f"repository {name!r} already exists")
            if time.monotonic() > deadline:
                raise AlreadyExistsError(
                    f"repository {name!r} was deleted moments ago and lakeFS still holds its "
                    "name; retry in a few seconds"
                )
            time.sleep(0.25)

    def _listed(self, name: str) -> bool:
        """Whether the repository is in lakeFS's listing, which reads its KV store directly
        (a lookup by name may answer from a cache that still holds a deleted one)."""
        api = self._client.sdk_client.repositories_api
        with sdk_errors(None, "the repository listing"):
            found = api.list_repositories(prefix=name, amount=1).results
        return any(r.id == name for r in found)

    def get_repository(self, name: str) -> Repository:
        repo = self._repo(name)
        with sdk_errors(name, missing=RepositoryNotFoundError):
            return repository_record(repo.properties)

    def list_repositories(self) -> list[Repository]:
        api = self._client.sdk_client.repositories_api
        with sdk_errors(None, "the repository listing"):
            return [
                repository_record(r) for r in generate_listing(api.list_repositories, amount=PAGE)
            ]

    def delete_repository(self, name: str) -> None:
        repo = self._repo(name)
        with sdk_errors(name, missing=RepositoryNotFoundError):
            repo.delete()

    # -- branches and tags ----------------------------------------------------------------
    def create_branch(self, repo: str, name: str, source: str, *, exist_ok: bool = False) -> Ref:
        """lakeFS answers a branch creation with the new branch's commit id, so one request
        does; an existing branch accepted by exist_ok is looked up."""
        branch = self._branch(repo, name)
        check_ref(source)
        api = self._client.sdk_client.branches_api
        with (
            self._ambiguity_told(repo, source),
            sdk_errors(
                repo,
                f"branch {name!r}",
                missing_subject=f"ref {source!r}",
                conflict=AlreadyExistsError,
            ),
        ):
            creation = lakefs_sdk.BranchCreation(name=name, source=source)
            try:
                return Ref(name, api.create_branch(repo, creation))
            except lakefs_sdk.ApiException as exc:
                if not exist_ok or exc.status != 409:
                    raise
            return Ref(name, branch.head.id)

    def get_branch(self, repo: str, name: str) -> Ref:
        branch = self._branch(repo, name)
        with sdk_errors(repo, f"branch {name!r}"):
            return Ref(name, branch.head.id)

    def list_branches(self, repo: str) -> list[Ref]:
        api = self._client.sdk_client.branches_api
        with sdk_errors(check_repository_name(repo), missing=RepositoryNotFoundError):
            return [
                Ref(b.id, b.commit_id)
                for b in generate_listing(api.list_branches, repo, amount=PAGE)
            ]

    def delete_branch(self, repo: str, name: str) -> None:
        branch = self._branch(repo, name)
        with sdk_errors(repo, f"branch {name!r}"):
            branch.delete()

    def create_tag(self, repo: str, name: str, ref: str, *, exist_ok: bool = False) -> Ref:
        check_repository_name(repo)
        tag = lakefs.Tag(repo, check_tag_name(name), client=self._client)
        target = self._ref(repo, ref)
        subject = f"tag {name!r}"
        with (
            self._ambiguity_told(repo, ref),
            sdk_errors(repo, subject, missing_subject=f"ref {ref!r}", conflict=AlreadyExistsError),
        ):
            try:
                tag.create(ref)
            except ConflictException:
                # lakeFS's own exist_ok accepts any target; ours only the same one.
                existing = tag.get_commit().id
                if not exist_ok or existing != target.get_commit().id:
                    raise AlreadyExistsError(
                        f"{subject} already exists in repository {repo!r} (at commit "
                        f"{existing[:12]}); tags are immutable"
                    ) from None
            return Ref(name, tag.get_commit().id)

    def list_tags(self, repo: str) -> list[Ref]:
        api = self._client.sdk_client.tags_api
        with sdk_errors(check_repository_name(repo), missing=RepositoryNotFoundError):
            return [
                Ref(t.id, t.commit_id) for t in generate_listing(api.list_tags, repo, amount=PAGE)
            ]

    def delete_tag(self, repo: str, name: str) -> None:
        check_repository_name(repo)
        tag = lakefs.Tag(repo, check_tag_name(name), client=self._client)
        with sdk_errors(repo, f"tag {name!r}"):
            tag.delete()


def client_from_lakectl_file(path: os.PathLike | str) -> lakefs.Client:
    """A client from a lakectl config file (lakectl's own YAML: server.endpoint_url and
    credentials), such as the one `make lakefs` writes."""
    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
        endpoint = config["server"]["endpoint_url"]
        keys = config["credentials"]
        key_id, secret = keys["access_key_id"], keys["secret_access_key"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise BackendError(f"cannot read the lakectl config {str(path)!r}: {exc}") from exc
    return lakefs.Client(host=endpoint, username=key_id, password=secret)


def _client_from_environment() -> lakefs.Client:
    try:
        return lakefs.Client()
    except LakeFSException as exc:
        raise BackendError(f"no lakeFS server configured: {CONFIG_HINT}") from exc
