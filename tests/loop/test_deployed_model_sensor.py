"""`deployed_model_sensor`: each move of the registry alias observes `deployed_model` and
re-predicts the fleet once, in ranges of drives, also when the alias rolls back."""

from __future__ import annotations

import dagster as dg

from assets.definitions import build_definitions
from assets.fleet.assets import drives
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.labeling import SimulatedLabelingService
from resources.store_resource import LocalStoreResource

MODEL = "cone_detector"


def test_every_alias_move_repredicts_the_fleet_once_even_a_rollback(tmp_path):
    catalog = CatalogResource(url=f"sqlite:///{tmp_path / 'catalog.db'}")
    resources = {
        "catalog": catalog,
        "detector": DetectorResource(),
        "store": LocalStoreResource(root=str(tmp_path / "store")),
        "labeling": SimulatedLabelingService(inbox=str(tmp_path / "inbox")),
    }
    cat = catalog.open()
    for version in ("m1", "m2"):
        cat.register_model(
            MODEL,
            version,
            branch=f"candidate-{version}",
            commit="c" * 64,
            training_set_commit="t" * 64,
            metrics={},
            card_path=f"models/{MODEL}/{version}/model_card.md",
        )
    defs = build_definitions(resources=resources)
    sensor = defs.get_sensor_def("deployed_model_sensor")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(drives.name, [f"d{i:04d}" for i in range(450)])

        def tick(cursor):
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=resources, definitions=defs
            )
            return sensor(context)

        first = tick(None)
        assert first.run_requests == [] and first.asset_events == []  # nothing deployed
        keys, cursor = [], None
        for version in ("m1", "m2", "m1"):
            cat.set_alias(MODEL, "production", version)
            result = tick(cursor)
            (observation,) = result.asset_events
            assert observation.tags["dagster/data_version"] == version
            ranges = [
                (
                    r.tags["dagster/asset_partition_range_start"],
                    r.tags["dagster/asset_partition_range_end"],
                )
                for r in result.run_requests
            ]
            assert ranges == [("d0000", "d0199"), ("d0200", "d0399"), ("d0400", "d0449")]
            keys.append({r.run_key for r in result.run_requests})
            cursor = result.cursor
            assert tick(cursor).run_requests == []  # the same alias: nothing more
        assert not keys[0] & keys[2], "a rollback to m1 must not reuse m1's first run keys"
