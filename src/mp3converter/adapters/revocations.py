"""Who may no longer use the tokens they hold: disabled and deleted users, changed passwords.

The auth role keeps the list in MongoDB; the gateway and the upload role, which verify tokens
without calling auth per request, poll it (RevocationList) every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from mp3converter.adapters.mongo import Database

log = logging.getLogger(__name__)
REVOCATIONS_PATH = "/internal/revocations"


@dataclass(frozen=True)
class Revocation:
    """Tokens of the user issued before `not_before` (epoch seconds) are void; all, if blocked."""

    user_id: str
    not_before: float
    blocked: bool

    def voids(self, issued_at: float) -> bool:
        """Whether a token or link issued at this time (epoch seconds) no longer counts."""
        return self.blocked or issued_at < self.not_before


class Revocations(Protocol):
    """Answers whether a user's token is void."""

    async def voids(self, user_id: str, issued_at: float) -> bool:
        """Whether a token the user got at issued_at (epoch seconds) must be refused."""


class RevocationStore:
    """The auth role's list, in the revocations collection."""

    def __init__(self, db: Database) -> None:
        self._entries = db.revocations

    async def revoke(self, user_id: str, now: datetime, *, blocked: bool) -> None:
        """Void the user's tokens issued before now; all of them while blocked."""
        await self._entries.update_one(
            {"_id": user_id},
            {"$set": {"not_before": now.timestamp(), "blocked": blocked}},
            upsert=True,
        )

    async def unblock(self, user_id: str) -> None:
        """A re-enabled user's new tokens count again (old ones stay void)."""
        await self._entries.update_one({"_id": user_id}, {"$set": {"blocked": False}})

    async def all(self) -> list[Revocation]:
        """Every entry."""
        return [
            Revocation(doc["_id"], float(doc["not_before"]), bool(doc["blocked"]))
            async for doc in self._entries.find({})
        ]

    async def voids(self, user_id: str, issued_at: float) -> bool:
        """Whether the user's token issued at that time is void (read from the database)."""
        doc = await self._entries.find_one({"_id": user_id})
        if doc is None:
            return False
        return Revocation(user_id, float(doc["not_before"]), bool(doc["blocked"])).voids(issued_at)


class RevocationList:
    """A copy of auth's list, refreshed every `refresh_seconds`; the last copy is kept if auth
    cannot be reached, so an outage of auth does not lock everybody out."""

    def __init__(self, http: httpx.AsyncClient, auth_url: str, refresh_seconds: float) -> None:
        self._http = http
        self._url = f"{auth_url}{REVOCATIONS_PATH}"
        self._refresh_seconds = refresh_seconds
        self._entries: Mapping[str, Revocation] = {}

    async def voids(self, user_id: str, issued_at: float) -> bool:
        """Whether the user's token issued at that time is void (from the last copy)."""
        entry = self._entries.get(user_id)
        return entry is not None and entry.voids(issued_at)

    async def refresh(self) -> None:
        """Fetch the list now."""
        response = await self._http.get(self._url, timeout=5.0)
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()["revocations"]
        self._entries = {
            e["user_id"]: Revocation(e["user_id"], float(e["not_before"]), bool(e["blocked"]))
            for e in entries
        }

    async def keep_fresh(self) -> None:
        """Refresh forever (run as a task); failures are logged and retried next period."""
        while True:
            try:
                await self.refresh()
            except (httpx.HTTPError, ValueError, KeyError):
                log.warning("revocation list not refreshed; keeping the last one", exc_info=True)
            await asyncio.sleep(self._refresh_seconds)
