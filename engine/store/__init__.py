"""flowcrm engine: store."""
