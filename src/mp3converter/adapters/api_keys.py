"""Personal API keys: shown once, stored hashed, listed and revoked by their owner."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from mp3converter.adapters.mongo import Database, Document
from mp3converter.contracts import utcnow

PREFIX = "mp3c_"


class ApiKey(BaseModel):
    """A key as stored: never its secret, only the secret's SHA-256."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    owner_id: str
    name: str
    admin: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _to_key(doc: Document) -> ApiKey:
    return ApiKey.model_validate({**doc, "key_id": doc["_id"]})


def parse(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a string shaped like an API key (`mp3c_<id>_<secret>`), or None."""
    if not presented.startswith(PREFIX):
        return None
    key_id, sep, secret = presented.removeprefix(PREFIX).partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


def looks_like_key(presented: str) -> bool:
    """Whether a bearer value is an API key rather than an access token."""
    return parse(presented) is not None


class ApiKeyStore:
    """The api_keys collection."""

    def __init__(self, db: Database) -> None:
        self._keys = db.api_keys

    async def create(
        self, owner_id: str, name: str, *, admin: bool, expires_at: datetime | None
    ) -> tuple[ApiKey, str]:
        """A new key and the one string that carries it (never stored, never shown again)."""
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        doc: Document = {
            "_id": key_id,
            "owner_id": owner_id,
            "name": name,
            "admin": admin,
            "secret_sha256": _digest(secret),
            "created_at": utcnow(),
            "expires_at": expires_at,
        }
        await self._keys.insert_one(doc)
        return _to_key(doc), f"{PREFIX}{key_id}_{secret}"

    async def list_for(self, owner_id: str) -> list[ApiKey]:
        """The owner's keys, newest first."""
        cursor = self._keys.find({"owner_id": owner_id}).sort("created_at", -1)
        return [_to_key(doc) for doc in await cursor.to_list()]

    async def revoke(self, owner_id: str, key_id: str) -> bool:
        """Delete one of the owner's keys; whether it existed."""
        result = await self._keys.delete_one({"_id": key_id, "owner_id": owner_id})
        return result.deleted_count == 1

    async def revoke_owner(self, owner_id: str) -> None:
        """Delete every key of a user (the user is deleted)."""
        await self._keys.delete_many({"owner_id": owner_id})

    async def verify(self, presented: str) -> ApiKey | None:
        """The key this string carries if it is valid and not expired, else None."""
        parsed = parse(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        doc = await self._keys.find_one({"_id": key_id})
        if doc is None or not hmac.compare_digest(doc["secret_sha256"], _digest(secret)):
            return None
        now = utcnow()
        if doc.get("expires_at") is not None and doc["expires_at"] <= now:
            return None
        await self._keys.update_one({"_id": key_id}, {"$set": {"last_used_at": now}})
        return _to_key(doc)
