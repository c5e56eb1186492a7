"""Failed logins counted in MongoDB, so every auth replica sees the same counts and locks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta

from pymongo import ReturnDocument

from mp3converter.adapters.mongo import Database
from mp3converter.contracts import utcnow
from mp3converter.domain.throttling import ThrottlePolicy


class LoginThrottle:
    """Per-key failure counts with a lock; keys are named by kind (`account`, `client`)."""

    def __init__(self, db: Database, policies: Mapping[str, ThrottlePolicy]) -> None:
        self._counts = db.login_throttle
        self._policies = policies

    async def retry_after(self, keys: Mapping[str, str]) -> int | None:
        """Seconds until the longest lock on any of these keys ends, or None if none is locked."""
        now = utcnow()
        ids = [f"{kind}:{value}" for kind, value in keys.items()]
        cursor = self._counts.find({"_id": {"$in": ids}, "locked_until": {"$gt": now}})
        waits = [(doc["locked_until"] - now).total_seconds() async for doc in cursor]
        return math.ceil(max(waits)) if waits else None

    async def failed(self, keys: Mapping[str, str]) -> None:
        """Count one failure against each key, locking those past their free failures."""
        now = utcnow()
        for kind, value in keys.items():
            policy = self._policies[kind]
            window = timedelta(seconds=policy.window_seconds)
            doc = await self._counts.find_one_and_update(
                {"_id": f"{kind}:{value}"},
                {"$inc": {"failures": 1}, "$setOnInsert": {"first_at": now}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            assert doc is not None  # upserted
            failures = doc["failures"]
            if doc["first_at"] < now - window:  # the window has passed: count afresh
                failures = 1
                await self._counts.update_one(
                    {"_id": doc["_id"]}, {"$set": {"failures": 1, "first_at": now}}
                )
            lock = timedelta(seconds=policy.lock_seconds(failures))
            await self._counts.update_one(
                {"_id": doc["_id"]},
                {"$set": {"locked_until": now + lock, "expires_at": now + max(window, lock)}},
            )

    async def succeeded(self, kind: str, value: str) -> None:
        """Forget the failures of a key (an account that logged in)."""
        await self._counts.delete_one({"_id": f"{kind}:{value}"})

    async def delete_expired(self) -> int:
        """Forget counts whose window and lock have passed; how many."""
        result = await self._counts.delete_many({"expires_at": {"$lte": utcnow()}})
        return result.deleted_count
