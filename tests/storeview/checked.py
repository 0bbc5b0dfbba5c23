"""A one-drive `fleet_logs` run whose GX check commits Data Docs (the store view link tests)."""

from __future__ import annotations

import dagster as dg

from assets.fleet.assets import fleet_logs
from entrypoints.demo.world import upload_drives
from quality.checks import DRIVE_LOGS_CHECK
from resources.simulation import Fleet, FleetConfig


def one_checked_drive(resource) -> tuple[dg.DagsterInstance, dict]:
    """Upload one simulated drive through `resource`, materialize its `fleet_logs` partition on
    an ephemeral instance, and return the instance and the drive-log check's metadata."""
    fleet = Fleet(FleetConfig(seed=3, drives=1, frames_per_drive=6))
    [drive] = fleet.drive_ids
    upload_drives(
        resource.ensure_repository(), resource.repository, {drive: fleet.drive_log(drive)}
    )
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("drives", [drive])
    result = dg.materialize(
        [fleet_logs], instance=instance, resources={"store": resource}, partition_key=drive
    )
    assert result.success
    key = dg.AssetCheckKey(dg.AssetKey("fleet_logs"), DRIVE_LOGS_CHECK)
    record = instance.get_latest_asset_check_evaluation_record(key)
    return instance, record.event.dagster_event.event_specific_data.metadata
