"""Password hashes: argon2id with the OWASP parameters (19 MiB, 2 passes, 1 lane); hashes of the older scrypt
format still verify and are replaced by argon2id at the user's next sign-in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
ARGON2_PREFIX = "$argon2id$"
SCRYPT_PREFIX = "scrypt$"  # scrypt$<n>$<salt hex>$<digest hex>, r=8, p=1 (before issue 10)


def hash_password(password: str) -> str:
    """A salted argon2id hash in the PHC string format (it names its own parameters)."""
    return HASHER.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=8, p=1, maxmem=256 * 1024 * 1024
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def verify_password(password: str, stored: str) -> bool:
    """Whether the password matches a stored hash (argon2id, or the older scrypt format); constant-time."""
    if stored.startswith(SCRYPT_PREFIX):
        return _verify_scrypt(password, stored)
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash is of an older format or weaker parameters than HASHER's."""
    return not stored.startswith(ARGON2_PREFIX) or HASHER.check_needs_rehash(stored)


@cache
def decoy_hash() -> str:
    """A hash of a random password, verified against when the user is unknown or inactive, so that such a
    sign-in costs the same hash work as a wrong password (no user enumeration by timing)."""
    return hash_password(secrets.token_urlsafe(16))
