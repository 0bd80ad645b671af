"""Who is acting: a value passed from the edge (web session, API token, CLI --as, a rule, the system) to every
layer that records who did something or asks what they may do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user, a token holder, or the system."""

    id: int | None
    username: str
    display_name: str
    roles: frozenset[str]
    team: str | None = None
    locale: str = "en"
    timezone: str | None = None  # IANA name; None: the bundle's default time zone

    @property
    def groups(self) -> frozenset[str]:
        """Candidate groups this actor belongs to: its roles and its team."""
        return self.roles | ({self.team} if self.team else frozenset())

    def has(self, *roles: str) -> bool:
        """True if the actor has any of these roles."""
        return bool(self.roles.intersection(roles))


SYSTEM = Actor(id=None, username="system", display_name="System", roles=frozenset({"system"}))
