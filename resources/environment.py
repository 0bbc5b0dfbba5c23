"""The one place that picks fleetloop's resources from the environment.

| variable | default | picks |
|---|---|---|
| `FLEETLOOP_STORE` | `local` | the store backend (`lakefs`: `LAKECTL_*` credentials) |
| `FLEETLOOP_CATALOG_URL` | SQLite in `$FLEETLOOP_HOME` | the catalog database |
| `FLEETLOOP_MODEL` | `cone_net` | the detector implementation |
| `FLEETLOOP_EPOCHS` | the model's default | training epochs |
| `FLEETLOOP_LABELING` | `simulated` | where requests go (`file-drop`: `FLEETLOOP_LABELING_DROP`) |
"""

from __future__ import annotations

import os
from typing import Any

from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.interop.service import labeling_from_env
from resources.store_resource import store_resource_from_env


def resources_from_env() -> dict[str, Any]:
    return {
        "store": store_resource_from_env(),
        "catalog": CatalogResource(),
        "labeling": labeling_from_env(),
        "detector": DetectorResource(
            model=os.environ.get("FLEETLOOP_MODEL", "cone_net"),
            epochs=int(os.environ.get("FLEETLOOP_EPOCHS", "0") or 0),
        ),
    }
