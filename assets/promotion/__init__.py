"""The promotion group: the gate between a candidate model and production."""
