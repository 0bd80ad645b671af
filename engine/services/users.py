"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from engine.errors import ConflictError, NotFound, ValidationError
from engine.processes.deployed import note_active_key, wants_active_key
from engine.services.access import require_permission
from engine.services.passwords import decoy_hash, hash_password, needs_rehash, verify_password
from engine.services.views import ROLES, Actor, UserView
from engine.store.models import ApiTokenRow, UserRow
from engine.store.uow import UnitOfWork

_USERNAME = re.compile(r"^[a-z0-9_.-]{2,80}$")
LOCALES = ("en", "ru")


def _actor(row: UserRow) -> Actor:
    return Actor(id=row.id, username=row.username, display_name=row.display_name,
                 roles=frozenset(r for r in row.roles.split(",") if r), team=row.team, locale=row.locale,
                 timezone=row.timezone)


def display_names(uow: UnitOfWork, usernames: Iterable[str]) -> dict[str, str]:
    """People's display names by login name (unknown logins are left out), read in at most one statement."""
    with uow:
        return uow.users.display_names(usernames)


def logins_matching(uow: UnitOfWork, text: str) -> list[str]:
    """Logins of the people whose display name or login contains `text` (any case, any script)."""
    with uow:
        return uow.users.logins_matching(text)


def _view(row: UserRow) -> UserView:
    return UserView(row.id, row.username, row.display_name, tuple(r for r in row.roles.split(",") if r),
                    row.team, row.locale, row.active, row.timezone)


def create_user(uow: UnitOfWork, username: str, password: str, roles: list[str] | tuple[str, ...],
                now: datetime, *, team: str | None = None, display_name: str | None = None,
                locale: str = "en", actor: Actor | None = None) -> UserView:
    """Create a user; `actor` (an admin) is required except from the CLI."""
    if actor is not None:
        require_permission(actor, "user.manage", action="create users")
    errors: dict[str, list[str]] = {}
    if not _USERNAME.match(username):
        errors["username"] = ["2-80 characters: lower-case letters, digits, '_', '.', '-'"]
    if len(password) < 8:
        errors["password"] = ["must have at least 8 characters"]
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        hint = f" (unknown: {', '.join(unknown)})" if unknown else ""
        errors["roles"] = [f"choose from: {', '.join(ROLES)}{hint}"]
    if locale not in LOCALES:
        errors["locale"] = [f"must be one of: {', '.join(LOCALES)}"]
    if errors:
        raise ValidationError(errors)
    with uow:
        if uow.users.by_username(username):
            raise ConflictError(f"user {username!r} already exists")
        row = UserRow(username=username, display_name=display_name or username, password_hash=hash_password(password),
                      roles=",".join(sorted(set(roles))), team=team or None, locale=locale, active=True,
                      created_at=now)
        uow.users.add(row)
        uow.commit()
        return _view(row)


def authenticate(uow: UnitOfWork, username: str, password: str) -> Actor:
    """The actor for a login; one vague error for unknown user and wrong password, and the same hash work for
    both (an unknown or inactive user is checked against a decoy hash). A hash of an older format or weaker
    parameters is replaced by a new one."""
    with uow:
        row = uow.users.by_username(username.strip().lower())
        known = row is not None and row.active
        matches = verify_password(password, row.password_hash if row is not None and known else decoy_hash())
        if row is None or not known or not matches:
            raise ValidationError({"": ["unknown user or wrong password"]})
        if needs_rehash(row.password_hash):
            row.password_hash = hash_password(password)
            uow.commit()
        return _actor(row)


def get_actor(uow: UnitOfWork, user_id: int) -> Actor:
    """The actor for a session's user id; the unit's first read of it also reads which configuration is deployed,
    which the request asks next (one round trip instead of two)."""
    with uow:
        if wants_active_key(uow):
            row, key = uow.users.with_config_key(user_id)
            note_active_key(uow, key)
        else:
            row = uow.users.get(user_id)
        if row is None or not row.active:
            raise NotFound(f"user {user_id} not found")
        return _actor(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(uow: UnitOfWork, actor: Actor, now: datetime) -> str:
    """A new API token for the actor; only its hash is stored, so it is shown once."""
    if actor.id is None:
        raise ValidationError({"": ["the system user has no tokens"]})
    token = "fcrm_" + secrets.token_urlsafe(32)
    with uow:
        uow.users.add(ApiTokenRow(user_id=actor.id, token_hash=_token_hash(token), created_at=now))
        uow.commit()
    return token


def actor_for_token(uow: UnitOfWork, token: str) -> Actor:
    """The actor holding an API token; NotFound when unknown or revoked. The token, its user and which
    configuration is deployed come in one statement."""
    with uow:
        row, user, key = uow.users.token_with_config_key(_token_hash(token))
        if row is None or row.revoked_at is not None:
            raise NotFound("unknown or revoked API token")
        if user is None or not user.active:
            raise NotFound("unknown or revoked API token")
        if wants_active_key(uow):  # read with the token: the request asks it next
            note_active_key(uow, key)
        return _actor(user)


def list_users(uow: UnitOfWork, actor: Actor) -> list[UserView]:
    """All users (admins only)."""
    require_permission(actor, "user.manage", action="list users")
    with uow:
        return [_view(r) for r in uow.users.all()]


def set_password(uow: UnitOfWork, actor: Actor, user_id: int, password: str) -> None:
    """Admins reset anyone's password; a user their own."""
    if actor.id != user_id:
        require_permission(actor, "user.manage", action="change another user's password")
    if len(password) < 8:
        raise ValidationError({"password": ["must have at least 8 characters"]})
    with uow:
        row = uow.users.get(user_id)
        if row is None:
            raise NotFound(f"user {user_id} not found")
        row.password_hash = hash_password(password)
        uow.commit()


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA time zone names of the installed time zone database, sorted; read once per process.
    `available_timezones()` walks the database and opens every file in it (~600) on each call: 20-40 ms of CPU that
    every profile page and every time zone saved spent again. A database updated under a running process is seen
    after its restart, as its ZoneInfo cache already behaves."""
    return tuple(sorted(available_timezones()))


@cache
def _time_zone_set() -> frozenset[str]:
    return frozenset(time_zone_names())


def is_time_zone(name: str) -> bool:
    """True for an IANA time zone name such as Europe/Moscow."""
    if not name or name not in _time_zone_set():
        return False
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


def set_preferences(uow: UnitOfWork, actor: Actor, *, locale: str, timezone: str | None) -> Actor:
    """A user's own language and time zone (None: the bundle's default zone); the updated actor."""
    if actor.id is None:
        raise ValidationError({"": ["the system user has no preferences"]})
    errors: dict[str, list[str]] = {}
    if locale not in LOCALES:
        errors["locale"] = [f"must be one of: {', '.join(LOCALES)}"]
    if timezone is not None and not is_time_zone(timezone):
        errors["timezone"] = [f"unknown time zone {timezone!r}; use an IANA name such as Europe/Moscow"]
    if errors:
        raise ValidationError(errors)
    with uow:
        row = uow.users.get(actor.id)
        if row is None or not row.active:
            raise NotFound(f"user {actor.id} not found")
        row.locale = locale
        row.timezone = timezone
        uow.commit()
        return _actor(row)
