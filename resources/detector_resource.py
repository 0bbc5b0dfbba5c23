"""The detector as a Dagster resource: which model to train, with what settings.

A team plugs in its own torch model by registering it in `resources.detection` and naming it
here (`FLEETLOOP_MODEL`); checkpoints say which model they hold, so loading needs no config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from resources.detection import Detector


class DetectorResource(dg.ConfigurableResource):
    model: str = "cone_net"
    name: str = "cone_detector"  # the registry name of the models this resource trains
    seed: int = 0
    epochs: int = 0  # 0: the model's default

    def new(self) -> Detector:
        from resources.detection import make_detector  # torch: imported when used

        options = {"epochs": self.epochs} if self.epochs else {}
        return make_detector(self.model, **options)

    def load(self, data: bytes) -> Detector:
        from resources.detection import load_checkpoint

        return load_checkpoint(data)

    def dump(self, detector: Detector) -> bytes:
        from resources.detection import save_checkpoint

        return save_checkpoint(detector)
