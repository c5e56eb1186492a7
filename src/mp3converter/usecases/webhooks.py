"""Webhooks: users register endpoints; each job event they subscribe to becomes a delivery."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from mp3converter.adapters.token_verifier import Principal
from mp3converter.adapters.webhook_deliveries import DeliveryStore
from mp3converter.adapters.webhook_sender import WebhookSender
from mp3converter.adapters.webhook_signing import new_secret
from mp3converter.adapters.webhook_store import WebhookStore
from mp3converter.contracts import AnyJobEvent, JobFailed, JobSucceeded, utcnow
from mp3converter.domain.webhook_targets import TargetRefused
from mp3converter.domain.webhooks import TEST_EVENT_TYPE, Delivery, DeliveryStatus, Webhook


class TooManyWebhooks(Exception):
    """The user already has as many webhooks as one may have."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"you have {limit} webhooks, the most one may have; delete one first")
        self.limit = limit


class TestTooSoon(Exception):
    """A test delivery to this webhook was queued in this minute already."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("one test delivery per webhook per minute; try again shortly")
        self.retry_after = retry_after


# Registering checks where the URL's host resolves, within this time.
RESOLVE_SECONDS = 10.0


def new_delivery_id() -> str:
    """A delivery's id, the `webhook-id` header of each of its attempts."""
    return f"msg_{uuid.uuid4().hex}"


def payload(event_type: str, data: dict[str, Any], timestamp: str) -> str:
    """The body of a delivery: `{"type", "timestamp", "data"}` as compact JSON."""
    document = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def job_data(event: JobSucceeded | JobFailed, public_base_url: str) -> dict[str, Any]:
    """What a job event tells its owner's endpoints: the job, never anything of another user."""
    data: dict[str, Any] = {
        "job_id": event.job_id,
        "filename": event.filename,
        "job_url": f"{public_base_url}/jobs/{event.job_id}",
    }
    if isinstance(event, JobSucceeded):
        return data | {
            "status": "done",
            "duration_seconds": event.duration_seconds,
            "size_bytes": event.size_bytes,
            "download_url": f"{public_base_url}/download/{event.job_id}",
        }
    return data | {"status": "failed", "error": {"code": event.code, "reason": event.reason}}


@dataclass
class Webhooks:
    """Registration (checked against the SSRF policy), listing, deletion, test events, and the
    deliveries each subscribed job event creates."""

    store: WebhookStore
    deliveries: DeliveryStore
    sender: WebhookSender
    max_per_user: int
    public_base_url: str
    # Set when a delivery is added, so this process's worker sends it without waiting.
    added: asyncio.Event = field(default_factory=asyncio.Event)

    async def register(
        self, caller: Principal, url: str, events: list[str], description: str | None
    ) -> Webhook:
        """A new endpoint of the caller with its secret; TargetRefused, TooManyWebhooks."""
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                await self.sender.addresses_for(url)
        except socket.gaierror as exc:
            raise TargetRefused(f"the host does not resolve: {exc.strerror or exc}") from exc
        except TimeoutError as exc:
            reason = f"the host did not resolve within {RESOLVE_SECONDS:g} s"
            raise TargetRefused(reason) from exc
        webhook = Webhook(
            webhook_id=uuid.uuid4().hex,
            owner_id=caller.user_id,
            owner_email=caller.email,
            url=url,
            events=tuple(dict.fromkeys(events)),
            secret=new_secret(),
            description=description,
            enabled=True,
            created_at=utcnow(),
        )
        await self.store.add(webhook)
        # Counted after adding: two registrations at once cannot both slip under the limit.
        if await self.store.count_for(caller.user_id) > self.max_per_user:
            await self.store.delete(webhook.webhook_id, caller.user_id)
            raise TooManyWebhooks(self.max_per_user)
        return webhook

    async def of_caller(self, caller: Principal) -> list[Webhook]:
        """The caller's endpoints."""
        return await self.store.list_for(caller.user_id)

    async def delete(self, caller: Principal, webhook_id: str) -> bool:
        """Delete one of the caller's endpoints and its deliveries; whether it existed."""
        if not await self.store.delete(webhook_id, caller.user_id):
            return False
        await self.deliveries.delete_for(webhook_id)
        return True

    async def enable(self, caller: Principal, webhook_id: str) -> Webhook | None:
        """Turn one of the caller's endpoints back on after it was disabled for failing (its
        secret stays); None: no such one. Events from while it was off are not sent."""
        return await self.store.enable(webhook_id, caller.user_id)

    async def send_test(self, caller: Principal, webhook_id: str) -> Delivery | None:
        """Queue a `webhook.test` delivery to one of the caller's endpoints (None: no such one);
        at most one per webhook per minute (TestTooSoon), so test calls cannot pile up
        deliveries and outbound requests."""
        webhook = await self.store.get(webhook_id, caller.user_id)
        if webhook is None:
            return None
        now = utcnow()
        data = {"webhook_id": webhook_id, "message": "a test delivery from mp3converter"}
        body = payload(TEST_EVENT_TYPE, data, now.isoformat())
        delivery = self._delivery(webhook, TEST_EVENT_TYPE, body)
        # The unique (webhook, event key) index makes the once-a-minute rule atomic.
        if not await self.deliveries.add(delivery, event_key=f"test:{now:%Y-%m-%dT%H:%M}"):
            raise TestTooSoon(retry_after=60 - now.second)
        self.added.set()
        return delivery

    async def recent_deliveries(
        self, caller: Principal, webhook_id: str, limit: int
    ) -> list[Delivery] | None:
        """The latest deliveries of one of the caller's endpoints (None: no such one)."""
        if await self.store.get(webhook_id, caller.user_id) is None:
            return None
        return await self.deliveries.recent_for(webhook_id, limit)

    async def on_job_event(self, event: AnyJobEvent) -> None:
        """A delivery to each of the owner's endpoints subscribed to the event (once per event,
        however often it is redelivered)."""
        if not isinstance(event, JobSucceeded | JobFailed):
            return
        body = payload(
            event.routing_key,
            job_data(event, self.public_base_url),
            event.occurred_at.isoformat(),
        )
        for webhook in await self.store.subscribed(event.owner_id, event.routing_key):
            delivery = self._delivery(webhook, event.routing_key, body)
            if await self.deliveries.add(delivery, event_key=event.message_id):
                self.added.set()

    @staticmethod
    def _delivery(webhook: Webhook, event_type: str, body: str) -> Delivery:
        now = utcnow()
        return Delivery(
            delivery_id=new_delivery_id(),
            webhook_id=webhook.webhook_id,
            owner_id=webhook.owner_id,
            event_type=event_type,
            payload=body,
            status=DeliveryStatus.PENDING,
            created_at=now,
            next_attempt_at=now,
        )
