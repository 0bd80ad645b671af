"""Signing in with a password, throttled: too many failures for one user name, or from one address, lock further
attempts for a while. Failures are rows in the database, so every server process counts the same ones."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.errors import Forbidden, ValidationError
from engine.services.users import authenticate
from engine.services.views import Actor
from engine.store.uow import UnitOfWork

USERNAME_LENGTH = 200
ADDRESS_LENGTH = 64


@dataclass(frozen=True)
class ThrottlePolicy:
    """At most `per_user` failures for one user name and `per_address` from one address within `window`."""

    window: timedelta = timedelta(minutes=15)
    per_user: int = 5
    per_address: int = 20


POLICY = ThrottlePolicy()


class SignInLocked(Forbidden):
    """Sign-ins for this user name (`by="user"`) or from this address (`by="address"`) are locked until `until`."""

    def __init__(self, by: str, who: str, until: datetime, now: datetime) -> None:
        self.by, self.who, self.until = by, who, until
        self.minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        super().__init__(f"too many failed sign-ins for {by} {who!r}: try again in {self.minutes} min")


def _refuse_if_locked(uow: UnitOfWork, username: str, address: str, now: datetime, policy: ThrottlePolicy) -> None:
    since = now - policy.window
    for by, who, limit, count_oldest in (
        ("user", username, policy.per_user, uow.logins.failures_since(since=since, username=username)),
        ("address", address, policy.per_address, uow.logins.failures_since(since=since, address=address)),
    ):
        count, oldest = count_oldest
        if count >= limit and oldest is not None:
            raise SignInLocked(by, who, oldest + policy.window, now)


def sign_in(
    uow: UnitOfWork, username: str, password: str, *, address: str, now: datetime, policy: ThrottlePolicy = POLICY
) -> Actor:
    """The actor for a user name and password from a client address. SignInLocked while locked (nothing is
    checked then, so a lock cannot be used to test passwords); ValidationError for a wrong user name or password,
    which counts as a failure; success forgets the user name's failures."""
    name = username.strip().lower()[:USERNAME_LENGTH]
    address = address[:ADDRESS_LENGTH]
    if not name or not password:
        raise ValidationError({"": ["unknown user or wrong password"]})  # nothing was tried: nothing to count
    with uow:
        _refuse_if_locked(uow, name, address, now, policy)
    try:
        actor = authenticate(uow, name, password)
    except ValidationError:
        with uow:
            uow.logins.forget_before(now - policy.window)
            uow.logins.add_failure(name, address, now)
            uow.commit()
        raise
    with uow:
        uow.logins.forget_user(name)
        uow.commit()
    return actor
