"""flowcrm engine: rules."""
