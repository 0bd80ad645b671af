"""flowcrm engine: services."""
