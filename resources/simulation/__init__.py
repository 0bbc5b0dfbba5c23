"""The demo's outside world: a simulated fleet uploading drive logs and simulated labelers.

Ground truth is hidden inside: only `SimulatedLabelers` (and tests and benchmarks) reach it.
"""

from resources.simulation.config import FleetConfig
from resources.simulation.fleet import FRAME_FACTS, Fleet
from resources.simulation.labelers import LabelBatch, LabelNoise, SimulatedLabelers

__all__ = ["FRAME_FACTS", "Fleet", "FleetConfig", "LabelBatch", "LabelNoise", "SimulatedLabelers"]
