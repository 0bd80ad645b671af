"""Global search: normalized keys of records and queries (keys), keeping them stored (index)."""
