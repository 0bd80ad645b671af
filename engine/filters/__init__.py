"""Filters over records: a JSON filter model validated against the deployed bundle (docs/filters.md)."""
