"""The entry points on top of the graph: the `fleetloop` CLI, the demo driver and the review
app. They may import everything below them (`assets/`, `quality/`, `resources/`); nothing
below imports them (`make lint` checks the layers)."""
