"""flowcrm engine: a generic BPM/records platform driven by configuration."""
