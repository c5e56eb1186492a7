"""Refresh tokens (RFC 6749 section 6) stored hashed, rotated on use, with reuse detection.

Each login starts a family; a refresh retires the token it presents and issues the next one in
the family. Presenting a retired token again means it leaked: the whole family is revoked
(RFC 9700 section 4.14.2).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import NoReturn

from pymongo import ReturnDocument

from mp3converter.adapters.mongo import Database
from mp3converter.contracts import utcnow

PREFIX = "rt_"
ACTIVE, USED, REVOKED = "active", "used", "revoked"


class InvalidGrant(Exception):
    """The refresh token is unknown, expired, revoked, or was already used."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshTokenStore:
    """Issues, rotates and revokes refresh tokens; only their SHA-256 is stored."""

    def __init__(self, db: Database, ttl_seconds: float) -> None:
        self._tokens = db.refresh_tokens
        self._ttl = timedelta(seconds=ttl_seconds)

    async def issue(self, user_id: str, family_id: str | None = None) -> str:
        """A new refresh token for the user, in a new family unless one is given."""
        token = PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        await self._tokens.insert_one(
            {
                "_id": _digest(token),
                "family_id": family_id or uuid.uuid4().hex,
                "user_id": user_id,
                "status": ACTIVE,
                "created_at": now,
                "expires_at": now + self._ttl,
            }
        )
        return token

    async def rotate(self, token: str) -> tuple[str, str]:
        """Retire the token; (user id, next token of its family). InvalidGrant if unusable."""
        now = utcnow()
        doc = await self._tokens.find_one_and_update(
            {"_id": _digest(token), "status": ACTIVE, "expires_at": {"$gt": now}},
            {"$set": {"status": USED, "used_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            await self._refuse(token)
        return doc["user_id"], await self.issue(doc["user_id"], doc["family_id"])

    async def revoke(self, token: str) -> None:
        """Revoke the token's family (RFC 7009: an unknown token is not an error)."""
        doc = await self._tokens.find_one({"_id": _digest(token)})
        if doc is not None:
            await self._revoke_family(doc["family_id"])

    async def revoke_user(self, user_id: str) -> None:
        """Revoke every refresh token of the user (password change, disabled, deleted)."""
        await self._tokens.update_many(
            {"user_id": user_id, "status": {"$ne": REVOKED}}, {"$set": {"status": REVOKED}}
        )

    async def delete_expired(self, now: datetime) -> int:
        """Forget tokens past their expiry; how many."""
        return (await self._tokens.delete_many({"expires_at": {"$lte": now}})).deleted_count

    async def _refuse(self, token: str) -> NoReturn:
        doc = await self._tokens.find_one({"_id": _digest(token)})
        if doc is not None and doc["status"] == USED:
            await self._revoke_family(doc["family_id"])
            raise InvalidGrant("refresh token reused; every token of its login is revoked")
        raise InvalidGrant("refresh token unknown, expired or revoked")

    async def _revoke_family(self, family_id: str) -> None:
        await self._tokens.update_many({"family_id": family_id}, {"$set": {"status": REVOKED}})
