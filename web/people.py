"""People on pages by their display names, not their logins (issue 13): the login stays in a `title` tooltip for
admins and auditors. Names are read once per request in one statement for the logins a page names — a view may
announce them first (`expect_people`), else the first name asked reads the announced ones with it."""

from __future__ import annotations

from collections.abc import Iterable

from flask import g
from markupsafe import Markup, escape

from engine.services.users import display_names
from web import uow
from web.i18n import t

# who a change is by when no person made it (engine/services: actor="process"; engine/rules: RULE_ACTOR)
ENGINE_ACTORS = ("process", "timer", "rule")


def expect_people(usernames: Iterable[str | None]) -> None:
    """Announce the logins a page will name, so their display names are read together."""
    wanted: set[str] = g.setdefault("people_wanted", set())
    wanted.update(u for u in usernames if u and u not in ENGINE_ACTORS)


def know_people(names: dict[str, str]) -> None:
    """Display names a view has already read (by login), so naming those people reads nothing more."""
    g.setdefault("people", {}).update(names)


def expect_changes(changes: Iterable[object]) -> None:
    """Announce who made each change (history, timeline, audit entries) and the owners an owner change names."""
    names: list[str | None] = []
    for change in changes:
        names.append(getattr(change, "actor", None))
        if getattr(change, "field", None) == "owner" or getattr(change, "subject", None) == "owner":
            values = (getattr(change, a, None) for a in ("old_value", "new_value", "value", "current"))
            names += [v for v in values if isinstance(v, str)]
    expect_people(names)


def person_name(username: str | None) -> str:
    """A person's display name (the login when no user has it); the engine's own actors in the request's language."""
    if not username:
        return ""
    if username in ENGINE_ACTORS:
        return t(f"audit.actor_{username}")
    known: dict[str, str] = g.setdefault("people", {})
    if username not in known:
        wanted: set[str] = g.setdefault("people_wanted", set())
        asked = (wanted | {username}) - known.keys()
        found = display_names(uow(), asked)
        known.update({u: found.get(u, u) for u in asked})
        wanted.clear()
    return known[username]


def person(username: str | None, empty: str = "") -> Markup:
    """A person as HTML: the display name, with the login as its tooltip when the two differ."""
    if not username:
        return escape(empty)
    name = person_name(username)
    if name == username or username in ENGINE_ACTORS:
        return escape(name)
    return PERSON.format(username, name)


PERSON = Markup('<span class="person" title="{}">{}</span>')  # format() escapes the login and the name
