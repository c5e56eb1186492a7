"""The delivery worker: sends due webhook deliveries, retries failures, disables dead endpoints."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

from prometheus_client import Counter
from pymongo.errors import PyMongoError

from mp3converter.adapters.mailer import Mailer
from mp3converter.adapters.webhook_deliveries import DeliveryStore
from mp3converter.adapters.webhook_sender import WebhookSender
from mp3converter.adapters.webhook_signing import signed_headers
from mp3converter.adapters.webhook_store import WebhookStore
from mp3converter.contracts import utcnow
from mp3converter.domain.webhook_retries import RetrySchedule
from mp3converter.domain.webhooks import Attempt, Delivery, DeliveryStatus, Webhook
from mp3converter.usecases.webhook_emails import webhook_disabled_email

log = logging.getLogger(__name__)
ATTEMPTS = Counter("mp3converter_webhook_attempts_total", "Webhook delivery attempts", ["result"])
# How long a claimed delivery stays with its sender: well past the longest attempt (the send
# timeout), after which another replica may take it (the sender died).
LEASE = timedelta(seconds=60)
# How often an idle worker looks for deliveries other replicas added.
POLL_SECONDS = 2.0
CONCURRENCY = 8


@dataclass
class DeliveryWorker:
    """Claims due deliveries (several at once), signs and sends each attempt, then records it:
    2xx succeeded; otherwise retried per the schedule, and failed once it is exhausted."""

    hooks: WebhookStore
    deliveries: DeliveryStore
    sender: WebhookSender
    schedule: RetrySchedule
    disable_after: int
    mailer: Mailer
    mail_from: str
    # Set by whoever adds a delivery in this process: look now rather than at the next poll.
    added: asyncio.Event = field(default_factory=asyncio.Event)
    concurrency: int = CONCURRENCY

    async def run(self) -> None:
        """Send deliveries until cancelled; attempts under way are finished first."""
        slots = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                await slots.acquire()
                claimed = await self._claim()
                if claimed is None:
                    slots.release()
                    await self._wait_for_work()
                    continue
                task = asyncio.create_task(self._attempt_in_slot(*claimed, slots))
                running.add(task)
                task.add_done_callback(running.discard)
        finally:
            if running:
                await asyncio.wait(running)

    async def _claim(self) -> tuple[Delivery, str] | None:
        try:
            return await self.deliveries.claim(utcnow(), LEASE)
        except PyMongoError as exc:
            log.warning("cannot claim webhook deliveries: %s", exc)
            return None

    async def _wait_for_work(self) -> None:
        wait = POLL_SECONDS
        with suppress(PyMongoError):
            if (due := await self.deliveries.next_due()) is not None:
                wait = min(wait, max((due - utcnow()).total_seconds(), 0.01))
        with suppress(TimeoutError):
            await asyncio.wait_for(self.added.wait(), wait)
        self.added.clear()

    async def _attempt_in_slot(
        self, delivery: Delivery, token: str, slots: asyncio.Semaphore
    ) -> None:
        try:
            await self.attempt(delivery, token)
        except Exception:
            # Recorded nowhere: the lease runs out and the attempt is made again.
            log.exception("webhook delivery %s: attempt not recorded", delivery.delivery_id)
        finally:
            slots.release()
            self.added.set()  # a slot is free, and a retry may now be due sooner than the poll

    async def attempt(self, delivery: Delivery, token: str) -> None:
        """Make one attempt of a claimed delivery and record what came of it."""
        webhook = await self.hooks.get(delivery.webhook_id)
        if webhook is None or not webhook.enabled:
            why = "the webhook was deleted" if webhook is None else "the webhook is disabled"
            skipped = Attempt(at=utcnow(), duration_ms=0, error=f"not sent: {why}")
            await self.deliveries.finish(
                delivery.delivery_id, token, skipped, DeliveryStatus.FAILED
            )
            ATTEMPTS.labels("skipped").inc()
            return
        at = utcnow()
        headers = signed_headers(webhook.secret, delivery.delivery_id, at, delivery.payload)
        outcome = await self.sender.post(webhook.url, headers, delivery.payload.encode())
        await self._record(webhook, delivery, token, outcome)

    async def _record(
        self, webhook: Webhook, delivery: Delivery, token: str, outcome: Attempt
    ) -> None:
        if outcome.succeeded:
            ATTEMPTS.labels("succeeded").inc()
            if await self.deliveries.finish(
                delivery.delivery_id, token, outcome, DeliveryStatus.SUCCEEDED
            ):
                await self.hooks.record_success(webhook.webhook_id)
            return
        delay = self.schedule.delay_after(len(delivery.attempts) + 1)
        if delay is not None:
            ATTEMPTS.labels("retry").inc()
            when = outcome.at + timedelta(seconds=delay)
            await self.deliveries.retry_at(delivery.delivery_id, token, outcome, when)
            return
        ATTEMPTS.labels("failed").inc()
        if not await self.deliveries.finish(
            delivery.delivery_id, token, outcome, DeliveryStatus.FAILED
        ):
            return
        disabled = await self.hooks.record_failure(webhook.webhook_id, self.disable_after)
        if disabled is not None:
            log.warning("webhook %s disabled: %s", disabled.webhook_id, disabled.disabled_reason)
            await self._tell_owner(disabled, outcome)

    async def _tell_owner(self, webhook: Webhook, last_attempt: Attempt) -> None:
        email = webhook_disabled_email(webhook, sender=self.mail_from, last_attempt=last_attempt)
        try:
            await self.mailer.send(email)
        except Exception:
            log.exception(
                "could not email %s that webhook %s was disabled",
                webhook.owner_email,
                webhook.webhook_id,
            )


async def forget_finished(deliveries: DeliveryStore, interval_seconds: float) -> None:
    """Delete finished deliveries past their retention every `interval_seconds`, until
    cancelled."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await deliveries.forget_expired(utcnow())
        except PyMongoError as exc:
            log.warning("finished webhook deliveries not deleted yet: %s", exc)
