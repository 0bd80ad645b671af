"""Signing in (engine/services/sign_in.py, passwords.py): throttling per user name and per address, stored in the
database; the same hash work for unknown users; argon2id with OWASP parameters and rehash of old scrypt hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engine.errors import ValidationError
from engine.services import users
from engine.services.passwords import hash_password, verify_password
from engine.services.sign_in import SignInLocked, sign_in
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD

MakeUow = Callable[[], UnitOfWork]
HERE = "10.0.0.1"


def fail(make_uow: MakeUow, username: str, times: int, *, address: str = HERE, at: Any = NOW) -> None:
    for _ in range(times):
        with pytest.raises(ValidationError):
            sign_in(make_uow(), username, "wrong-password", address=address, now=at)


def test_five_failures_lock_the_user_name_even_for_the_right_password(
    deployed: MakeUow, actors: dict[str, Actor]
) -> None:
    fail(deployed, "sam", 5)
    with pytest.raises(SignInLocked) as locked:
        sign_in(deployed(), "sam", PASSWORD, address="10.9.9.9", now=NOW + timedelta(minutes=1))
    assert (locked.value.by, locked.value.who, locked.value.minutes) == ("user", "sam", 14)
    assert sign_in(deployed(), "sue", PASSWORD, address=HERE, now=NOW).username == "sue"  # others sign in
    assert sign_in(deployed(), "sam", PASSWORD, address=HERE, now=NOW + timedelta(minutes=15)).username == "sam"


def test_unknown_user_names_lock_alike(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    fail(deployed, "nobody", 5)
    with pytest.raises(SignInLocked, match="user 'nobody'"):
        sign_in(deployed(), "nobody", "whatever", address=HERE, now=NOW)


def test_a_success_forgets_the_failures_of_the_user_name(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    fail(deployed, "sam", 4)
    sign_in(deployed(), "sam", PASSWORD, address=HERE, now=NOW)
    fail(deployed, "sam", 4)
    assert sign_in(deployed(), "sam", PASSWORD, address=HERE, now=NOW).username == "sam"


def test_twenty_failures_from_one_address_lock_that_address(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    for number in range(5):
        fail(deployed, f"guess{number}", 4)
    with pytest.raises(SignInLocked) as locked:
        sign_in(deployed(), "sam", PASSWORD, address=HERE, now=NOW)
    assert (locked.value.by, locked.value.who) == ("address", HERE)
    assert sign_in(deployed(), "sam", PASSWORD, address="10.0.0.2", now=NOW).username == "sam"


def test_unknown_and_inactive_users_cost_the_same_hash_work(
    deployed: MakeUow, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []

    def spy(password: str, stored: str) -> bool:
        checked.append(stored)
        return verify_password(password, stored)

    monkeypatch.setattr(users, "verify_password", spy)
    with deployed() as uow:
        uow.users.by_username("sue").active = False  # type: ignore[union-attr]
        uow.commit()
    for name in ("nobody", "sue", "sam"):
        with pytest.raises(ValidationError, match="unknown user or wrong password"):
            users.authenticate(deployed(), name, "wrong-password")
    assert len(checked) == 3
    assert all(stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for stored in checked)


def test_passwords_are_hashed_with_argon2id_at_owasp_parameters() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(PASSWORD, stored)
    assert not verify_password("wrong-password", stored)


def old_scrypt_hash(password: str) -> str:
    """The format stored before argon2id: scrypt N=2^14, r=8, p=1."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, n=2**14, r=8, p=1)
    return f"scrypt$16384${salt.hex()}${digest.hex()}"


def stored_hash(make_uow: MakeUow, username: str) -> str:
    with make_uow() as uow:
        return uow.users.by_username(username).password_hash  # type: ignore[union-attr]


def test_an_old_scrypt_hash_is_replaced_by_argon2id_at_sign_in(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    with deployed() as uow:
        uow.users.by_username("sam").password_hash = old_scrypt_hash(PASSWORD)  # type: ignore[union-attr]
        uow.commit()
    with pytest.raises(ValidationError):
        users.authenticate(deployed(), "sam", "wrong-password")
    assert stored_hash(deployed, "sam").startswith("scrypt$")  # a wrong password changes nothing
    assert users.authenticate(deployed(), "sam", PASSWORD).username == "sam"
    renewed = stored_hash(deployed, "sam")
    assert renewed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(PASSWORD, renewed)
    assert users.authenticate(deployed(), "sam", PASSWORD).username == "sam"
    assert stored_hash(deployed, "sam") == renewed  # a current hash is kept
