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


def require(actor: Actor, *roles: str, action: str) -> None:
    """Raise Forbidden unless the actor has one of the roles."""
    if not actor.has(*roles) and "system" not in actor.roles:
        raise Forbidden(f"{actor.username} may not {action} (needs one of: {', '.join(roles)})")


def reads_everything(actor: Actor) -> bool:
    """Admins, auditors and the system see every record, task and instance."""
    return actor.has(*READ_ALL) or "system" in actor.roles
