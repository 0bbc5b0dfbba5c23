"""Benchmarks of fleetloop (`make bench-store`: the versioned store against its peers)."""
