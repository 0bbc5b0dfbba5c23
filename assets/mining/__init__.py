"""The mining group: what the production model sees in the fleet, the raw material of slices."""
