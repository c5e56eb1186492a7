"""The webhooks collection: endpoints, their secrets, and their run of failed deliveries."""

from __future__ import annotations

from pymongo import ReturnDocument

from mp3converter.adapters.mongo import Database, Document
from mp3converter.contracts import utcnow
from mp3converter.domain.webhooks import Webhook


def _to_webhook(doc: Document) -> Webhook:
    return Webhook(
        webhook_id=doc["_id"],
        owner_id=doc["owner_id"],
        owner_email=doc["owner_email"],
        url=doc["url"],
        events=tuple(doc["events"]),
        secret=doc["secret"],
        description=doc.get("description"),
        enabled=doc["enabled"],
        created_at=doc["created_at"],
        consecutive_failures=doc.get("consecutive_failures", 0),
        disabled_reason=doc.get("disabled_reason"),
    )


class WebhookStore:
    """Each user's endpoints; the secret is kept (it signs) but only shown when created."""

    def __init__(self, db: Database) -> None:
        self._hooks = db.webhooks

    async def add(self, webhook: Webhook) -> None:
        """Store a new endpoint."""
        await self._hooks.insert_one(
            {
                "_id": webhook.webhook_id,
                "owner_id": webhook.owner_id,
                "owner_email": webhook.owner_email,
                "url": webhook.url,
                "events": list(webhook.events),
                "secret": webhook.secret,
                "description": webhook.description,
                "enabled": webhook.enabled,
                "created_at": webhook.created_at,
                "consecutive_failures": 0,
            }
        )

    async def count_for(self, owner_id: str) -> int:
        """How many endpoints the user has."""
        return await self._hooks.count_documents({"owner_id": owner_id})

    async def list_for(self, owner_id: str) -> list[Webhook]:
        """The user's endpoints, oldest first."""
        cursor = self._hooks.find({"owner_id": owner_id}).sort("created_at", 1)
        return [_to_webhook(doc) for doc in await cursor.to_list()]

    async def get(self, webhook_id: str, owner_id: str | None = None) -> Webhook | None:
        """One endpoint (only if `owner_id` owns it, when given)."""
        query: Document = {"_id": webhook_id}
        if owner_id is not None:
            query["owner_id"] = owner_id
        doc = await self._hooks.find_one(query)
        return _to_webhook(doc) if doc is not None else None

    async def delete(self, webhook_id: str, owner_id: str) -> bool:
        """Delete one of the user's endpoints; whether it existed."""
        result = await self._hooks.delete_one({"_id": webhook_id, "owner_id": owner_id})
        return result.deleted_count == 1

    async def enable(self, webhook_id: str, owner_id: str) -> Webhook | None:
        """Turn one of the user's endpoints back on, its run of failures forgotten (None: no
        such endpoint of theirs)."""
        doc = await self._hooks.find_one_and_update(
            {"_id": webhook_id, "owner_id": owner_id},
            {
                "$set": {"enabled": True, "consecutive_failures": 0},
                "$unset": {"disabled_reason": "", "disabled_at": ""},
            },
            return_document=ReturnDocument.AFTER,
        )
        return _to_webhook(doc) if doc is not None else None

    async def subscribed(self, owner_id: str, event_type: str) -> list[Webhook]:
        """The user's enabled endpoints that subscribe to this event."""
        query = {"owner_id": owner_id, "events": event_type, "enabled": True}
        return [_to_webhook(doc) for doc in await self._hooks.find(query).to_list()]

    async def record_success(self, webhook_id: str) -> None:
        """A delivery succeeded: the run of failures is over."""
        await self._hooks.update_one(
            {"_id": webhook_id, "consecutive_failures": {"$ne": 0}},
            {"$set": {"consecutive_failures": 0}},
        )

    async def record_failure(self, webhook_id: str, disable_after: int) -> Webhook | None:
        """A delivery failed for good; the endpoint if this failure is the one that disabled it
        (exactly one caller gets it, however many replicas record failures at once)."""
        doc = await self._hooks.find_one_and_update(
            {"_id": webhook_id, "enabled": True},
            {"$inc": {"consecutive_failures": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None or doc["consecutive_failures"] < disable_after:
            return None
        reason = f"{doc['consecutive_failures']} deliveries in a row failed"
        result = await self._hooks.update_one(
            {"_id": webhook_id, "enabled": True},
            {"$set": {"enabled": False, "disabled_reason": reason, "disabled_at": utcnow()}},
        )
        if result.modified_count != 1:
            return None
        return _to_webhook({**doc, "enabled": False, "disabled_reason": reason})
