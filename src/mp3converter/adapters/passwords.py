"""Password hashing with argon2id, off the event loop and under a concurrency cap.

Each argon2 hash takes 64 MiB; without a cap, 40 concurrent logins took the auth role to 2.1 GiB.
At most `concurrency` hashes run at once and `queue` more may wait; past that, HashingBusy is
raised at once, before any memory is taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the user does not exist keeps login time independent of that fact.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


class HashingBusy(Exception):
    """Too many password hashes are running or waiting; retry shortly."""


class Passwords:
    """Hashes and verifies passwords, at most `concurrency` at once."""

    def __init__(self, concurrency: int = 2, queue: int = 8) -> None:
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._admitted = 0
        self._capacity = concurrency + queue

    async def hash(self, password: str) -> str:
        """An argon2id hash of the password."""
        return await self._run(lambda: _HASHER.hash(password))

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether password matches; takes as long when there is no user (stored_hash None)."""

        def check() -> bool:
            try:
                valid = _HASHER.verify(stored_hash or _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return False
            return valid and stored_hash is not None

        return await self._run(check)

    @staticmethod
    def needs_rehash(stored_hash: str) -> bool:
        """Whether the hash was made with older parameters."""
        return _HASHER.check_needs_rehash(stored_hash)

    async def _run(self, work: Callable[[], T]) -> T:
        if self._admitted >= self._capacity:
            raise HashingBusy("too many logins at once; retry in a moment")
        self._admitted += 1
        try:
            return await anyio.to_thread.run_sync(work, limiter=self._limiter)
        finally:
            self._admitted -= 1
