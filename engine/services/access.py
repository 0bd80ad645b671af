"""Who may do what: the one place the role policy lives."""

from __future__ import annotations

from engine.errors import Forbidden
from engine.services.views import Actor

READ_ALL = ("admin", "auditor")
WORKERS = ("sales", "head_of_sales")
RECORD_WRITERS = ("sales", "head_of_sales", "admin")
DEPLOYERS = ("designer", "admin")
DEFINITION_READERS = ("designer", "admin", "auditor", "head_of_sales")
INCIDENT_READERS = ("admin", "designer", "auditor")
INCIDENT_RESOLVERS = ("admin", "designer")
READ_ONLY = ("auditor",)  # roles that change nothing, whatever the route
CHANGERS = ("sales", "head_of_sales", "designer", "admin")
EXTERNAL_WORKERS = ("worker", "admin")  # /engine-rest: a service account of role "worker" (external task workers)
ASSIGNERS = ("head_of_sales", "admin")  # who hands records and tasks to others
MERGERS = ("head_of_sales", "admin")
QUEUE_READERS = ("sales", "head_of_sales", "admin", "auditor")  # the duplicate queue
SEGMENT_READERS = ("sales", "head_of_sales", "admin", "auditor")  # whoever reads records
SEGMENT_WRITERS = ("sales", "head_of_sales", "admin")
IMPORTERS = ("sales", "head_of_sales", "admin")
IMPORT_READERS = (*IMPORTERS, "auditor")
POSTERS = ("admin", "designer", "head_of_sales", "sales")  # inbound events posted by hand
REPORT_READERS = ("sales", "head_of_sales", "admin", "auditor")
AUDIT_READERS = ("auditor", "admin", "head_of_sales")  # the head of sales: records visible to them only

# Named permissions: the roles that hold each one (record-level visibility is checked on top, in the services).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "record.write": RECORD_WRITERS,
    "record.assign": ASSIGNERS,
    "record.merge": MERGERS,
    "duplicate.read": QUEUE_READERS,
    "duplicate.decide": ("sales", *MERGERS),
    "process.start": ("sales", "head_of_sales", "admin"),
    "task.read_team": ("head_of_sales", "admin", "auditor"),
    "work.redistribute": ("admin", "head_of_sales"),
    "user.manage": ("admin",),
    "segment.read": SEGMENT_READERS,
    "segment.write": SEGMENT_WRITERS,
    "import.run": IMPORTERS,
    "import.read": IMPORT_READERS,
    "event.post": POSTERS,
    "report.read": REPORT_READERS,
    "audit.read": AUDIT_READERS,
    "reminder.write": CHANGERS,
    "definition.read": DEFINITION_READERS,
    "definition.deploy": DEPLOYERS,
    "config.edit": ("admin",),  # fields and catalog values changed in the browser
    "task.work": WORKERS,
    "incident.read": INCIDENT_READERS,
    "incident.retry": INCIDENT_RESOLVERS,
    "engine_rest.call": EXTERNAL_WORKERS,
    "duplicates.tune": ("head_of_sales", "admin", "designer"),  # reads every record of an entity, changes nothing
}


def require(actor: Actor, *roles: str, action: str) -> None:
    """Raise Forbidden unless the actor has one of the roles."""
    if not actor.has(*roles) and "system" not in actor.roles:
        raise Forbidden(f"{actor.username} may not {action} (needs one of: {', '.join(roles)})")


def can(actor: Actor, permission: str) -> bool:
    """Whether the actor's roles hold a named permission of PERMISSIONS (KeyError for an unknown name)."""
    return actor.has(*PERMISSIONS[permission]) or "system" in actor.roles


def require_permission(actor: Actor, permission: str, *, action: str) -> None:
    """Raise Forbidden unless the actor holds the named permission."""
    require(actor, *PERMISSIONS[permission], action=action)


def changes_nothing(actor: Actor) -> bool:
    """Auditors (and anyone holding only read-only roles) may not change anything."""
    return bool(actor.roles) and actor.roles <= set(READ_ONLY)


def reads_everything(actor: Actor) -> bool:
    """Admins, auditors and the system see every record, task and instance."""
    return actor.has(*READ_ALL) or "system" in actor.roles
