"""The lakeFS server a benchmark run starts and stops itself: local KV and local blockstore in a
temporary home, with importing from the scratch directory allowed (how the large repositories
are built), and the SDK calls the peer measurements share."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deploy.lakefs import server

UPLOADERS = 8  # parallel uploads, as LakeFSStore.put_many uses
PAGE = 1000


def unavailable(build_dir: Path = server.BUILD_DIR) -> str | None:
    """Why lakeFS cannot be measured on this machine, or None."""
    lakefs = server.binary("lakefs", build_dir)
    if not lakefs.exists():
        return f"{lakefs} is not built (needs Go: `make lakefs-build`)"
    return None


def importing_config(allowed: Path) -> Callable[[Path, str], dict]:
    """deploy.lakefs's local configuration, with imports from `allowed` enabled."""

    def config(home: Path, secret: str) -> dict:
        settings = server.local_config(home, secret)
        settings["blockstore"]["local"].update(
            import_enabled=True, allowed_external_prefixes=[str(allowed)]
        )
        return settings

    return config


@contextlib.contextmanager
def running(tmp: Path, build_dir: Path = server.BUILD_DIR) -> Iterator[server.Server]:
    """A server whose home is under `tmp`, stopped when the block ends."""
    home = tmp / "lakefs-home"
    with server.serving(home, build_dir=build_dir, config=importing_config(tmp)) as found:
        yield found


def client(found: server.Server):
    import lakefs

    return lakefs.Client(
        host=found.endpoint, username=found.access_key_id, password=found.secret_access_key
    )


class Lake:
    """lakeFS through its generated SDK (`lakefs_sdk`), one call per operation: the peer as
    lakeFS itself serves it, without fleetloop's adapter."""

    def __init__(self, lakefs_client):
        sdk = lakefs_client.sdk_client
        self.repos, self.branches = sdk.repositories_api, sdk.branches_api
        self.objects, self.commits = sdk.objects_api, sdk.commits_api
        self.refs, self.imports = sdk.refs_api, sdk.import_api
        self.api_client = sdk.objects_api.api_client
        self.host = lakefs_client.config.host

    def create_repository(self, name: str) -> None:
        import lakefs_sdk

        creation = lakefs_sdk.RepositoryCreation(
            name=name, storage_namespace=f"local://{name}", default_branch="main"
        )
        self.repos.create_repository(creation)

    def delete_repository(self, name: str) -> None:
        self.repos.delete_repository(name)

    def upload(self, repo: str, branch: str, path: str, data: bytes):
        return self.objects.upload_object(repo, branch, path, content=data)

    def upload_many(self, repo: str, branch: str, items: Iterable[tuple[str, bytes]]) -> None:
        with ThreadPoolExecutor(UPLOADERS) as pool:
            for done in [pool.submit(self.upload, repo, branch, p, d) for p, d in items]:
                done.result()

    def commit(self, repo: str, branch: str, message: str):
        import lakefs_sdk

        return self.commits.commit(repo, branch, lakefs_sdk.CommitCreation(message=message))

    def create_branch(self, repo: str, name: str, source: str) -> str:
        import lakefs_sdk

        return self.branches.create_branch(
            repo, lakefs_sdk.BranchCreation(name=name, source=source)
        )

    def import_tree(self, repo: str, branch: str, source: Path, message: str) -> int:
        """Import every file under `source` (keys relative to it) and commit; the number of
        objects lakeFS reports imported."""
        import lakefs_sdk

        location = lakefs_sdk.ImportLocation(
            type="common_prefix", path=f"local://{source.resolve()}/", destination=""
        )
        creation = lakefs_sdk.ImportCreation(
            paths=[location], commit=lakefs_sdk.CommitCreation(message=message), force=False
        )
        started = self.imports.import_start(repo, branch, creation)
        while True:
            status = self.imports.import_status(repo, branch, started.id)
            if status.error is not None:
                raise RuntimeError(f"lakeFS import into {repo} failed: {status.error.message}")
            if status.completed:
                return status.ingested_objects or 0
            time.sleep(0.05)

    def stream(self, repo: str, ref: str, path: str):
        """One streaming GET of an object (the SDK's get_object reads the whole body first)."""
        import urllib.parse

        resource = urllib.parse.quote(f"/repositories/{repo}/refs/{ref}/objects")
        headers = {"Accept": "application/octet-stream"}
        self.api_client.update_params_for_auth(headers, None, ["basic_auth"], resource, "GET", None)
        query = urllib.parse.urlencode({"path": path})
        response = self.api_client.rest_client.pool_manager.request(
            "GET", f"{self.host}{resource}?{query}", headers=headers, preload_content=False
        )
        if response.status != 200:
            raise RuntimeError(f"GET {path} from lakeFS answered {response.status}")
        return response
