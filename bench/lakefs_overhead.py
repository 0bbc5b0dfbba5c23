"""The adapter's own cost: each `LakeFSStore` call the loop makes against the same operation
done directly with `lakefs_sdk`, on one server and one client (one connection pool), in one
run, the two taking turns (adapter first on even reps, SDK first on odd ones). Besides the
median ms of each, the HTTP requests one call sends are counted, so a ratio above 1 can be
told apart: extra round trips, or Python time per request."""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Callable, Iterator

from bench.config import Config
from bench.lakefs_server import PAGE, Lake
from bench.timing import median, ms, progress
from bench.workload import items, payload
from resources.versioning.lakefs_store import LakeFSStore

REPO = "bench-overhead"
SEED = 1000  # objects under seed/, what get, stat and list read
DIFF_CHANGES = 100
STAGING = (
    "staging"  # where put and put_many stage (never committed: main's commits hold one change)
)
_COMMIT_ID = re.compile(r"[0-9a-f]{64}")


def _pages(call: Callable, *args, **kwargs) -> list:
    found, after = [], ""
    while True:
        page = call(*args, after=after, amount=PAGE, **kwargs)
        found.extend(page.results)
        if not page.pagination.has_more:
            return found
        after = page.pagination.next_offset


def _merge_ready(lake: Lake, name: str, k: int) -> None:
    lake.create_branch(REPO, name, "main")
    lake.upload(REPO, name, f"merged/{name}.bin", payload(k))
    lake.commit(REPO, name, "to merge")


def calls(store: LakeFSStore, lake: Lake) -> dict[str, tuple[Callable, Callable, Callable]]:
    """name -> (set-up(side, k), adapter call(k), SDK call(k)); each call's set-up runs right
    before it, untimed."""
    import lakefs_sdk

    data, seed = payload(7), "seed/drives/d0000/frames/007.png"
    batch = {side: [] for side in ("a", "d")}

    def batch_of(side: str, k: int) -> None:
        batch[side] = [(f"many/{side}{k}/{path}", d) for path, d in items("nested", 0, 100)]

    def change_main(side: str, k: int) -> None:
        lake.upload(REPO, "main", f"committed/{side}{k}.bin", payload(k))

    def merge_source(side: str, k: int) -> None:
        _merge_ready(lake, f"merge-{side}{k}", k)

    def nothing(side: str, k: int) -> None:
        pass

    return {
        "put": (
            nothing,
            lambda k: store.put(REPO, STAGING, f"put/a{k}.bin", data),
            lambda k: lake.upload(REPO, STAGING, f"put/d{k}.bin", data),
        ),
        "put_many_100": (
            batch_of,
            lambda k: store.put_many(REPO, STAGING, batch["a"]),
            lambda k: lake.upload_many(REPO, STAGING, batch["d"]),
        ),
        "get": (
            nothing,
            lambda k: store.get(REPO, "main", seed),
            lambda k: lake.objects.get_object(REPO, "main", seed),
        ),
        "stat": (
            nothing,
            lambda k: store.stat(REPO, "main", seed),
            lambda k: lake.objects.stat_object(REPO, "main", seed),
        ),
        "list_objects_1000": (
            nothing,
            lambda k: list(store.list_objects(REPO, "main", "seed/")),
            lambda k: _pages(lake.objects.list_objects, REPO, "main", prefix="seed/"),
        ),
        "commit": (
            change_main,
            lambda k: store.commit(REPO, "main", f"a{k}"),
            lambda k: lake.commit(REPO, "main", f"d{k}"),
        ),
        "create_branch": (
            nothing,
            lambda k: store.create_branch(REPO, f"branch-a{k}", "main"),
            lambda k: lake.create_branch(REPO, f"branch-d{k}", "main"),
        ),
        "get_branch": (
            nothing,
            lambda k: store.get_branch(REPO, "main"),
            lambda k: lake.branches.get_branch(REPO, "main"),
        ),
        "diff_100": (
            nothing,
            lambda k: store.diff(REPO, "seed", "changed"),
            lambda k: _pages(lake.refs.diff_refs, REPO, "seed", "changed", type="three_dot"),
        ),
        "merge": (
            merge_source,
            lambda k: store.merge(REPO, f"merge-a{k}", "main"),
            lambda k: lake.refs.merge_into_branch(
                REPO, f"merge-d{k}", "main", lakefs_sdk.Merge(message="m", allow_empty=True)
            ),
        ),
        "log_10": (
            nothing,
            lambda k: list(store.log(REPO, "main", max_amount=10)),
            lambda k: lake.refs.log_commits(REPO, "main", amount=10, limit=True),
        ),
    }


def seed(lake: Lake) -> None:
    """main holds SEED objects under seed/; branch `changed` changes DIFF_CHANGES of them."""
    lake.create_repository(REPO)
    lake.upload_many(REPO, "main", [(f"seed/{p}", d) for p, d in items("nested", 0, SEED)])
    lake.commit(REPO, "main", "seed")
    lake.create_branch(REPO, "seed", "main")
    lake.create_branch(REPO, STAGING, "main")
    lake.create_branch(REPO, "changed", "main")
    step = SEED // DIFF_CHANGES
    changes = [(f"seed/{p}", d + b"!") for p, d in items("nested", 0, SEED)][::step]
    lake.upload_many(REPO, "changed", changes)
    lake.commit(REPO, "changed", "100 changes")


@contextlib.contextmanager
def counting(lake: Lake) -> Iterator[list[str]]:
    """The HTTP requests (method and path) sent through the client's connection pool meanwhile."""
    pool = lake.api_client.rest_client.pool_manager
    original, sent = pool.urlopen, []

    def urlopen(method, url, *args, **kwargs):
        path = urllib.parse.urlsplit(url).path.removeprefix("/api/v1")
        sent.append(f"{method} {_COMMIT_ID.sub('{id}', path.replace(REPO, '{repo}'))}")
        return original(method, url, *args, **kwargs)

    pool.urlopen = urlopen
    try:
        yield sent
    finally:
        del pool.urlopen


def run(lakefs_client, cfg: Config) -> dict:
    store, lake = LakeFSStore(lakefs_client), Lake(lakefs_client)
    seed(lake)
    table = calls(store, lake)
    times = {name: {"adapter": [], "sdk": []} for name in table}
    requests: dict[str, dict[str, list[str]]] = {}
    # k = -2 warms up (the adapter asks the server's storage config once), k = -1 counts the
    # requests one call sends; neither is timed.
    for k in range(-2, cfg.overhead_reps):
        for name, (setup, adapter, direct) in table.items():
            sides = [("adapter", "a", adapter), ("sdk", "d", direct)]
            for side, tag, call in sides if k % 2 == 0 else sides[::-1]:
                setup(tag, k)
                if k == -2:
                    call(k)
                elif k == -1:
                    with counting(lake) as sent:
                        call(k)
                    requests.setdefault(name, {})[side] = sent
                else:
                    times[name][side].append(ms(lambda c=call, r=k: c(r)))
    out: dict = {"reps": cfg.overhead_reps, "calls": {}}
    for name, by_side in times.items():
        adapter, sdk = median(by_side["adapter"]), median(by_side["sdk"])
        out["calls"][name] = {
            "adapter_ms_p50": adapter,
            "sdk_ms_p50": sdk,
            "ratio": round(adapter / sdk, 3),
            "adapter_requests": len(requests[name]["adapter"]),
            "sdk_requests": len(requests[name]["sdk"]),
            "adapter_sent": sorted(set(requests[name]["adapter"])),
        }
    lake.delete_repository(REPO)
    progress(f"lakeFS adapter overhead: { {n: c['ratio'] for n, c in out['calls'].items()} }")
    return out
