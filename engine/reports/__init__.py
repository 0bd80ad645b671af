"""Reports: configured aggregations over records, tasks and field history (docs/reports.md)."""
