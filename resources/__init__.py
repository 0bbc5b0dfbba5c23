"""Dagster resources of fleetloop: the versioned store, and later the catalog and labeling."""
