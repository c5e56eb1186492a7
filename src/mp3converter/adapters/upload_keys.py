"""Idempotency keys of uploads in MongoDB: one record per user and key, claimed before the upload
is read and completed with its job, or released if the upload fails."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from mp3converter.adapters.mongo import Database, Document
from mp3converter.domain.idempotency import IN_FLIGHT_LEASE, KEY_LIFETIME


class KeyState(StrEnum):
    """Where the upload of a key stands."""

    IN_FLIGHT = "in_flight"
    DONE = "done"


class KeyRecord(BaseModel):
    """What a key's first upload left: its job, and the digest of its file."""

    state: KeyState
    job_id: str | None = None
    digest: str | None = None


class UploadKeys:
    """Claims, completes and releases upload keys."""

    def __init__(self, db: Database) -> None:
        self._keys = db.upload_keys

    async def claim(self, record: str, owner_id: str, now: datetime) -> KeyRecord | None:
        """Claim the key for a new upload: None if it is ours now, else what holds it."""
        fresh: Document = {
            "_id": record,
            "owner_id": owner_id,
            "state": KeyState.IN_FLIGHT.value,
            "lease_until": now + IN_FLIGHT_LEASE,
            "expires_at": now + KEY_LIFETIME,
        }
        for _ in range(3):  # a record deleted or expiring between the steps: try again
            try:
                await self._keys.insert_one(fresh)
                return None
            except DuplicateKeyError:
                pass
            stale = {
                "_id": record,
                "$or": [
                    {"expires_at": {"$lte": now}},
                    {"state": KeyState.IN_FLIGHT.value, "lease_until": {"$lte": now}},
                ],
            }
            if await self._keys.find_one_and_replace(stale, fresh) is not None:
                return None
            if (held := await self._keys.find_one({"_id": record})) is not None:
                return KeyRecord.model_validate(held)
        raise RuntimeError("idempotency key record kept changing")

    async def complete(self, record: str, job_id: str, digest: str) -> None:
        """The upload of a claimed key made this job."""
        await self._keys.update_one(
            {"_id": record},
            {"$set": {"state": KeyState.DONE.value, "job_id": job_id, "digest": digest}},
        )

    async def release(self, record: str) -> None:
        """The upload of a claimed key failed: the key may be used again."""
        await self._keys.delete_one({"_id": record, "state": KeyState.IN_FLIGHT.value})

    async def forget_expired(self, now: datetime) -> int:
        """Delete the records of keys past their lifetime; returns how many."""
        result = await self._keys.delete_many({"expires_at": {"$lte": now}})
        return result.deleted_count
