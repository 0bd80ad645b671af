"""The fixed roles of the platform; candidate groups in BPMN are these or teams declared in settings."""

ROLES: tuple[str, ...] = ("sales", "head_of_sales", "designer", "admin", "auditor", "worker")
