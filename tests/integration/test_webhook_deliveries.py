"""Durable webhook deliveries on the MongoDB wire server: leases, and several senders at once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

from mp3converter.adapters.mailer import OutboxMailer
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.token_verifier import Principal
from mp3converter.adapters.webhook_deliveries import DeliveryStore
from mp3converter.adapters.webhook_sender import WebhookSender, http_client
from mp3converter.adapters.webhook_store import WebhookStore
from mp3converter.contracts import JobSucceeded, utcnow
from mp3converter.domain.webhook_retries import RetrySchedule
from mp3converter.domain.webhook_targets import TargetPolicy
from mp3converter.domain.webhooks import Attempt, Delivery, DeliveryStatus
from mp3converter.usecases.webhook_delivery import DeliveryWorker, forget_finished
from mp3converter.usecases.webhooks import Webhooks
from tests.webhook_receiver import webhook_receiver

ANN = Principal(user_id="ann", email="ann@example.com", is_admin=False)


def pending(webhook_id: str = "w1") -> Delivery:
    """A delivery due now."""
    now = utcnow()
    return Delivery(
        delivery_id=f"msg_{uuid.uuid4().hex}",
        webhook_id=webhook_id,
        owner_id="ann",
        event_type="webhook.test",
        payload="{}",
        status=DeliveryStatus.PENDING,
        created_at=now,
        next_attempt_at=now,
    )


async def test_a_claimed_delivery_is_leased_and_taken_again_when_its_sender_died(
    db: Database,
) -> None:
    store = DeliveryStore(db)
    delivery = pending()
    added = await store.add(delivery, event_key="e1")
    added_again = await store.add(pending(), event_key="e1")  # the same event, redelivered
    first = await store.claim(utcnow(), timedelta(seconds=0.3))
    while_leased = await store.claim(utcnow(), timedelta(seconds=0.3))
    await asyncio.sleep(0.4)  # the first sender never reported back
    second = await store.claim(utcnow(), timedelta(seconds=30))
    assert first is not None
    assert second is not None
    outcome = Attempt(at=utcnow(), duration_ms=5, status_code=200)
    late = await store.finish(delivery.delivery_id, first[1], outcome, DeliveryStatus.SUCCEEDED)
    current = await store.finish(delivery.delivery_id, second[1], outcome, DeliveryStatus.SUCCEEDED)
    (stored,) = await store.recent_for("w1", 10)

    assert added
    assert not added_again
    assert first[0].delivery_id == second[0].delivery_id == delivery.delivery_id
    assert while_leased is None
    assert first[1] != second[1]
    assert not late  # the lost claim records nothing
    assert current
    assert stored.status is DeliveryStatus.SUCCEEDED
    assert len(stored.attempts) == 1
    assert await store.claim(utcnow(), timedelta(seconds=30)) is None


async def test_two_senders_share_the_deliveries_and_never_send_one_twice(
    db: Database, tmp_path: Path
) -> None:
    hooks, deliveries = WebhookStore(db), DeliveryStore(db)
    async with webhook_receiver() as receiver, http_client(5.0) as http:
        sender = WebhookSender(http, TargetPolicy(production=False))
        webhooks = Webhooks(hooks, deliveries, sender, 10, "https://mp3converter.example")
        webhook = await webhooks.register(ANN, receiver.url(), ["job.succeeded"], None)
        events = [
            JobSucceeded(
                job_id=uuid.uuid4().hex,
                owner_id="ann",
                owner_email="ann@example.com",
                filename=f"talk-{n}.mp4",
                duration_seconds=1.0,
                size_bytes=10,
            )
            for n in range(20)
        ]
        for event in events:
            await webhooks.on_job_event(event)
        workers = [
            DeliveryWorker(
                hooks,
                deliveries,
                sender,
                RetrySchedule((0.1,)),
                5,
                OutboxMailer(tmp_path),
                "noreply@example.com",
                concurrency=4,
            )
            for _ in range(2)
        ]
        running = [asyncio.create_task(worker.run()) for worker in workers]
        try:
            await receiver.wait_for(20)
            await asyncio.sleep(0.5)  # a repeat would arrive by now
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(ids) == 20
    assert set(ids.values()) == {1}
    payloads = receiver.verified(webhook.secret)
    assert sorted(p["data"]["filename"] for p in payloads) == sorted(e.filename for e in events)


async def test_finished_deliveries_past_their_retention_are_forgotten(db: Database) -> None:
    now = utcnow()
    await db.webhook_deliveries.insert_many(
        [
            {"_id": name, "webhook_id": "w1", "event_key": name, **fields}
            for name, fields in (
                ("old", {"status": "succeeded", "expire_at": now - timedelta(seconds=1)}),
                ("kept", {"status": "failed", "expire_at": now + timedelta(days=1)}),
                ("pending", {"status": "pending", "next_attempt_at": now}),
            )
        ]
    )
    forgetting = asyncio.create_task(forget_finished(DeliveryStore(db), 0.05))
    try:
        async with asyncio.timeout(10):
            while await db.webhook_deliveries.count_documents({"_id": "old"}):
                await asyncio.sleep(0.05)
    finally:
        forgetting.cancel()
    left = sorted([doc["_id"] async for doc in db.webhook_deliveries.find({}, {"_id": 1})])
    assert left == ["kept", "pending"]
