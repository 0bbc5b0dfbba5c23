"""The demo: the outside world (a fleet, labelers) and the driver of `make demo`."""
