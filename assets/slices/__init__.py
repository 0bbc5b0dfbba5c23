"""Curated slices: declared once, each becomes an asset whose code_version is its hash."""
