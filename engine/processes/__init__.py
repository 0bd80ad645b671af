"""Process definitions and their runtime (SpiffWorkflow behind one adapter)."""
