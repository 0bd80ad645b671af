"""Time zones: every date and time is shown and entered in the user's zone (their profile, else the bundle's
`timezone` setting) and stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import g, has_request_context, request

from engine.errors import FlowError
from engine.processes.deployed import active_bundle
from web import uow

INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what a datetime-local box shows and posts
API_PATHS = ("/api/", "/engine-rest/")
UTC_ZONE = ZoneInfo("UTC")


def default_zone_name() -> str:
    """The deployed bundle's time zone (UTC before anything is deployed)."""
    try:
        return active_bundle(uow())[0].settings.timezone
    except FlowError:
        return "UTC"


def user_zone() -> ZoneInfo:
    """The zone of the request's user: their own choice, else the bundle's; UTC outside a request and for the
    APIs (programs get UTC, whoever holds the token). Worked out once per request (a page asks it per date)."""
    if not has_request_context():
        return UTC_ZONE
    zone: ZoneInfo | None = g.get("zone")
    if zone is None:
        if request.path.startswith(API_PATHS):
            zone = UTC_ZONE
        else:
            actor = g.get("actor")
            zone = ZoneInfo(actor.timezone if actor is not None and actor.timezone else default_zone_name())
        g.zone = zone
    return zone


def local(moment: datetime, zone: ZoneInfo | None = None) -> datetime:
    """A stored moment in the user's zone (`zone`, when the caller has it at hand; a naive moment is UTC: the
    store keeps UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone or user_zone())


def input_value(value: datetime | str) -> str:
    """A stored moment as the user's-zone `YYYY-MM-DDTHH:MM` a datetime-local box shows; other text unchanged."""
    if isinstance(value, datetime):
        return local(value).strftime(INPUT_FORMAT)
    try:
        return local(datetime.fromisoformat(value)).strftime(INPUT_FORMAT)
    except ValueError:
        return value


def read_input(text: str) -> datetime | None:
    """A datetime-local value (`2026-03-02T09:30`) read in the user's zone, in UTC; None when it is not one
    (text with an offset is not what the box posts)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return None
    return moment.replace(tzinfo=user_zone()).astimezone(UTC)
