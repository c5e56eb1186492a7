"""The webhook_deliveries collection: durable deliveries, claimed under a lease by one sender.

A delivery is due when `next_attempt_at` has passed. Claiming it moves `next_attempt_at` a lease
ahead and stamps a claim token in one atomic update, so no other replica takes the same attempt;
if the claimer dies, the delivery is due again when the lease ends, and nothing is lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mp3converter.adapters.mongo import Database, Document
from mp3converter.contracts import utcnow
from mp3converter.domain.webhooks import Attempt, Delivery, DeliveryStatus

# Finished deliveries are kept this long for `GET /webhooks/{id}/deliveries`, then deleted by
# usecases/webhook_delivery.forget_finished.
RETENTION = timedelta(days=30)


def _to_attempt(doc: Document) -> Attempt:
    return Attempt(
        at=doc["at"],
        duration_ms=doc["duration_ms"],
        status_code=doc.get("status_code"),
        error=doc.get("error"),
        response_body=doc.get("response_body"),
    )


def _to_delivery(doc: Document) -> Delivery:
    return Delivery(
        delivery_id=doc["_id"],
        webhook_id=doc["webhook_id"],
        owner_id=doc["owner_id"],
        event_type=doc["event_type"],
        payload=doc["payload"],
        status=DeliveryStatus(doc["status"]),
        created_at=doc["created_at"],
        next_attempt_at=doc.get("next_attempt_at"),
        attempts=tuple(_to_attempt(each) for each in doc.get("attempts", [])),
    )


def _attempt_doc(attempt: Attempt) -> Document:
    return {
        "at": attempt.at,
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "response_body": attempt.response_body,
    }


class DeliveryStore:
    """Deliveries: added once per (webhook, event), claimed when due, finished or rescheduled."""

    def __init__(self, db: Database) -> None:
        self._deliveries = db.webhook_deliveries

    async def add(self, delivery: Delivery, event_key: str) -> bool:
        """Store a delivery unless this webhook already has one for event_key; whether added."""
        doc: Document = {
            "_id": delivery.delivery_id,
            "owner_id": delivery.owner_id,
            "event_type": delivery.event_type,
            "payload": delivery.payload,
            "status": delivery.status.value,
            "created_at": delivery.created_at,
            "next_attempt_at": delivery.next_attempt_at,
            "attempts": [],
        }
        try:
            result = await self._deliveries.update_one(
                {"webhook_id": delivery.webhook_id, "event_key": event_key},
                {"$setOnInsert": doc},
                upsert=True,
            )
        except DuplicateKeyError:  # another replica added it meanwhile
            return False
        return result.upserted_id is not None

    async def claim(self, now: datetime, lease: timedelta) -> tuple[Delivery, str] | None:
        """The delivery due first, leased to the caller with a claim token; None if none is due."""
        token = uuid.uuid4().hex
        doc = await self._deliveries.find_one_and_update(
            {"status": DeliveryStatus.PENDING.value, "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": now + lease, "claim": token}},
            sort=[("next_attempt_at", 1)],
            return_document=ReturnDocument.AFTER,
        )
        return (_to_delivery(doc), token) if doc is not None else None

    async def next_due(self) -> datetime | None:
        """When the next pending delivery is due (None: nothing pending)."""
        doc = await self._deliveries.find_one(
            {"status": DeliveryStatus.PENDING.value},
            {"next_attempt_at": 1},
            sort=[("next_attempt_at", 1)],
        )
        return doc["next_attempt_at"] if doc is not None else None

    async def finish(
        self, delivery_id: str, token: str, attempt: Attempt | None, status: DeliveryStatus
    ) -> bool:
        """Record the last attempt (if one was made) and the final status; False if the claim
        was lost (the lease ran out and another replica took the delivery)."""
        update: Document = {
            "$set": {"status": status.value, "expire_at": utcnow() + RETENTION},
            "$unset": {"claim": "", "next_attempt_at": ""},
        }
        if attempt is not None:
            update["$push"] = {"attempts": _attempt_doc(attempt)}
        result = await self._deliveries.update_one({"_id": delivery_id, "claim": token}, update)
        return result.modified_count == 1

    async def retry_at(
        self, delivery_id: str, token: str, attempt: Attempt, when: datetime
    ) -> bool:
        """Record a failed attempt and when to try again; False if the claim was lost."""
        result = await self._deliveries.update_one(
            {"_id": delivery_id, "claim": token},
            {
                "$push": {"attempts": _attempt_doc(attempt)},
                "$set": {"next_attempt_at": when},
                "$unset": {"claim": ""},
            },
        )
        return result.modified_count == 1

    async def recent_for(self, webhook_id: str, limit: int) -> list[Delivery]:
        """The webhook's latest deliveries, newest first."""
        cursor = (
            self._deliveries.find({"webhook_id": webhook_id}).sort("created_at", -1).limit(limit)
        )
        return [_to_delivery(doc) for doc in await cursor.to_list()]

    async def forget_expired(self, now: datetime) -> int:
        """Delete finished deliveries past their retention; returns how many."""
        result = await self._deliveries.delete_many({"expire_at": {"$lte": now}})
        return result.deleted_count

    async def delete_for(self, webhook_id: str) -> None:
        """Forget every delivery of a deleted webhook (pending ones are never sent)."""
        await self._deliveries.delete_many({"webhook_id": webhook_id})
