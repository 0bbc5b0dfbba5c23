"""`deployed_model`: the model that serves the fleet, an observable source asset.

The data engine's loop is a cycle in the world (model → predictions → slices → labels →
model) but must be a DAG in Dagster. It closes where production closes it: the promotion gate
moves the registry alias `production`; the fleet runs whatever that alias names. Observing
the alias (its data version is the model version) is what re-predicts the fleet, so
`production_model` has no downstream edge and the graph stays acyclic.
"""

from __future__ import annotations

import dagster as dg

from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource

DEPLOYED_MODEL = dg.AssetKey("deployed_model")
NOT_DEPLOYED = "none"


def deployed_version(catalog: CatalogResource, detector: DetectorResource) -> str:
    production = catalog.open().alias(detector.name, "production")
    return production.version if production else NOT_DEPLOYED


@dg.observable_source_asset(
    name="deployed_model",
    group_name="mining",
    description="The model the fleet runs: the registry alias `production` (observed when a "
    "promotion moves it); its data version is the model version.",
)
def deployed_model(catalog: CatalogResource, detector: DetectorResource) -> dg.DataVersion:
    return dg.DataVersion(deployed_version(catalog, detector))
