"""`fleetloop demo --stack production` for real at a small scale: lakeFS with its metadata in
PostgreSQL and its objects on S3 (moto) with pre-signed transfers, the Dagster instance on
PostgreSQL with the queued run coordinator, the catalog on the same PostgreSQL. Afterwards
clients that are not fleetloop read what it wrote: lakectl, polars through lakeFS's S3 gateway,
and the Dagster instance, whose data versions must be lakeFS commit ids."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from entrypoints.demo.runner import DemoConfig, run_demo

REPOSITORY = "drive-data"


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    from deploy.lakefs.server import LakeFSUnavailable, binary
    from deploy.production import production_stack

    home = tmp_path_factory.mktemp("production-home")
    config = DemoConfig(
        seed=1, drives=40, frames_per_drive=24, epochs=10, slice_scale=0.15, timeout_s=1200
    )
    saved = dict(os.environ)
    try:
        with production_stack(home) as stack:
            summary = run_demo(config, home, say=lambda _: None, stack=stack.environment())
            yield home, stack, summary, binary("lakectl")
    except LakeFSUnavailable as exc:
        pytest.skip(f"no production stack here: {exc}")
    finally:  # the demo exports its environment into this process: give the others theirs
        os.environ.clear()
        os.environ.update(saved)


def _lakectl(stack, lakectl, *args: str) -> str:
    done = subprocess.run(
        [str(lakectl), "--config", str(stack.lakefs.lakectl_config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_story_runs_on_the_production_stack(production):
    home, _, summary, _ = production
    assert json.loads((home / "demo.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["stack"]["store"].startswith("LakeFSStore(")
    assert summary["stack"]["catalog"].startswith("postgresql+psycopg://")
    assert summary["stack"]["dagster_storage"] == "PostgresRunStorage"
    assert summary["stack"]["run_coordinator"] == "QueuedRunCoordinator"
    assert summary["human_actions"] == 0 and summary["manual_runs"] == []
    assert len(summary["decisions"]) >= 2 and summary["decisions"][0]["approved"]
    for name in ("all", "rain", "green_cones"):
        assert 0.0 <= summary["slices"][name]["promoted"]["ap"] <= 1.0


def _promotion_tags(stack, lakectl) -> list[str]:
    listed = _lakectl(stack, lakectl, "tag", "list", f"lakefs://{REPOSITORY}")
    return [line.split()[0] for line in listed.splitlines() if "cone_detector-" in line]


def test_lakectl_reads_the_log_the_tags_and_a_promotion_merge(production):
    _, stack, summary, lakectl = production
    log = _lakectl(stack, lakectl, "log", f"lakefs://{REPOSITORY}/main", "--amount", "500")
    approved = [d for d in summary["decisions"] if d["approved"]]
    assert log.count("promote cone_detector") >= len(approved) > 0, log[:2000]
    tags = _promotion_tags(stack, lakectl)
    assert len(tags) == len(approved), tags
    # The merge a promotion made, against its first parent: the model's files came in.
    tag = tags[-1]
    diff = _lakectl(
        stack, lakectl, "diff", f"lakefs://{REPOSITORY}/{tag}~1", f"lakefs://{REPOSITORY}/{tag}"
    )
    version = tag.removeprefix("cone_detector-")
    assert f"models/cone_detector/{version}/" in diff, diff[:2000]


def test_polars_reads_the_training_set_through_the_s3_gateway(production):
    import polars as pl

    from resources.layout import MANIFEST_PATH

    _, stack, _, _ = production
    server = stack.lakefs
    manifest = pl.read_parquet(
        f"s3://{REPOSITORY}/main/{MANIFEST_PATH}",
        storage_options={
            "aws_endpoint_url": server.endpoint,
            "aws_access_key_id": server.access_key_id,
            "aws_secret_access_key": server.secret_access_key,
            "aws_region": "us-east-1",
            "aws_allow_http": "true",
        },
    )
    assert manifest.height > 0
    assert {"frame_id", "split", "slice"} <= set(manifest.columns)


def test_dagster_data_versions_are_lakefs_commits(production):
    import dagster as dg
    import lakefs_sdk

    _, stack, _, _ = production
    server = stack.lakefs
    configuration = lakefs_sdk.Configuration(
        host=f"{server.endpoint}/api/v1",
        username=server.access_key_id,
        password=server.secret_access_key,
    )
    commits = lakefs_sdk.CommitsApi(lakefs_sdk.ApiClient(configuration))
    with dg.DagsterInstance.get() as instance:  # the demo's DAGSTER_HOME: PostgreSQL storage
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        seen = {}
        for name in ("label_sets", "training_set", "candidate_model", "production_model"):
            event = instance.get_latest_materialization_event(dg.AssetKey(name))
            assert event is not None, name
            version = event.asset_materialization.tags["dagster/data_version"]
            found = commits.get_commit(REPOSITORY, version)  # raises on an unknown commit
            assert found.id == version
            seen[name] = version
    # The promoted model's version is a commit in main's history.
    log = lakefs_sdk.RefsApi(commits.api_client).log_commits(REPOSITORY, "main", amount=1000)
    assert seen["production_model"] in {c.id for c in log.results}
