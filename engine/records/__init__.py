"""flowcrm engine: records."""
