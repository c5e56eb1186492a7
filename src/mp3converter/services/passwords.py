"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the user does not exist keeps login time independent of that fact.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8


async def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return await anyio.to_thread.run_sync(_HASHER.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether password matches; takes as long when there is no user (stored_hash None)."""

    def check() -> bool:
        try:
            return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with older parameters."""
    return _HASHER.check_needs_rehash(stored_hash)
