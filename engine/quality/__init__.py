"""Data quality: normalized match keys, duplicate detection and scans (configured per entity in YAML)."""
