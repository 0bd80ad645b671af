"""flowcrm engine: config."""
