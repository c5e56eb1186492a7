"""Webhooks end to end in the notification role on the real services: registration, deliveries
from job events on RabbitMQ to a real receiver (verified with `standardwebhooks`), retries,
giving up and disabling with an email, and the SSRF refusals of production."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mp3converter import bootstrap
from mp3converter.adapters.mongo import Database
from mp3converter.config import Environment, Settings
from mp3converter.contracts import JobFailed, JobSucceeded
from mp3converter.devstack.secantus import free_port
from mp3converter.roles import gateway, notification
from tests.http_server import serve
from tests.inprocess import Tokens, serving, settings_for, token_authority
from tests.services import Mailbox
from tests.webhook_receiver import webhook_receiver

PROBLEM = "application/problem+json"
WAIT_SECONDS = 30.0
BOTH = ["job.succeeded", "job.failed"]


@dataclass
class NotificationRole:
    """A served notification role, its database, tokens it accepts, and the mailbox it uses."""

    client: httpx.AsyncClient
    db: Database
    tokens: Tokens
    settings: Settings
    mailbox: Mailbox

    async def register(
        self, user: str, url: str, events: list[str] | None = None
    ) -> httpx.Response:
        """POST /webhooks as the user."""
        body = {"url": url, "events": events or BOTH}
        return await self.client.post("/webhooks", json=body, headers=self.tokens.bearer(user))

    async def registered(self, user: str, url: str, events: list[str] | None = None) -> Any:
        """A webhook of the user (its JSON, with the secret), registered or the test fails."""
        response = await self.register(user, url, events)
        assert response.status_code == 201, response.text
        return response.json()

    async def deliveries(self, user: str, webhook_id: str) -> list[Any]:
        """GET /webhooks/{id}/deliveries as the user."""
        response = await self.client.get(
            f"/webhooks/{webhook_id}/deliveries", headers=self.tokens.bearer(user)
        )
        assert response.status_code == 200, response.text
        deliveries: list[Any] = response.json()["deliveries"]
        return deliveries

    async def settled(self, user: str, webhook_id: str, count: int = 1) -> list[Any]:
        """The webhook's deliveries once `count` of them are no longer pending."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                found = await self.deliveries(user, webhook_id)
                if sum(d["status"] != "pending" for d in found) >= count:
                    return found
                await asyncio.sleep(0.05)


RoleFactory = Callable[..., AbstractAsyncContextManager[NotificationRole]]


@pytest.fixture
def notification_role(
    mongodb_url: str, mongo_client: Any, mailbox: tuple[Mailbox, int]
) -> RoleFactory:
    inbox, smtp_port = mailbox

    @asynccontextmanager
    async def start(production: bool = False, **overrides: Any) -> AsyncIterator[NotificationRole]:
        async with token_authority() as tokens:
            settings = settings_for(
                mongodb_url,
                tokens.auth_url,
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                public_base_url="https://mp3converter.example",
                **overrides,
            )
            if production:  # only what webhooks check (the rest of production is not set up)
                settings = settings.model_copy(update={"environment": Environment.PRODUCTION})
            db: Database = mongo_client[settings.mongodb_db]
            try:
                async with serving(notification.create_app(settings), settings) as client:
                    yield NotificationRole(client, db, tokens, settings, inbox)
            finally:
                await mongo_client.drop_database(settings.mongodb_db)

    return start


def succeeded(owner_id: str) -> JobSucceeded:
    """The event of a job of the owner that just succeeded."""
    return JobSucceeded(
        job_id=uuid.uuid4().hex,
        owner_id=owner_id,
        owner_email=f"{owner_id}@example.com",
        filename="talk.mp4",
        duration_seconds=61.5,
        size_bytes=987_654,
    )


async def publish(settings: Settings, *events: JobSucceeded | JobFailed) -> None:
    """Publish job events on the deployment's broker, as the converter does."""
    async with bootstrap.broker(settings, "test") as broker:
        for event in events:
            await broker.publish(event)


async def test_webhooks_are_registered_listed_and_deleted_by_their_owner_only(
    notification_role: RoleFactory,
) -> None:
    async with notification_role(max_webhooks_per_user=2) as role:
        ann, bob = role.tokens.bearer("ann"), role.tokens.bearer("bob")
        created = await role.register("ann", "http://127.0.0.1:9/hook", ["job.failed"])
        listed = await role.client.get("/webhooks", headers=ann)
        webhook_id = created.json()["webhook_id"]
        others = await role.client.get("/webhooks", headers=bob)
        foreign = [
            await role.client.delete(f"/webhooks/{webhook_id}", headers=bob),
            await role.client.post(f"/webhooks/{webhook_id}/test", headers=bob),
            await role.client.get(f"/webhooks/{webhook_id}/deliveries", headers=bob),
        ]
        await role.register("ann", "http://127.0.0.1:9/second")
        third = await role.register("ann", "http://127.0.0.1:9/third")
        deleted = await role.client.delete(f"/webhooks/{webhook_id}", headers=ann)
        again = await role.client.delete(f"/webhooks/{webhook_id}", headers=ann)
        after = await role.client.get("/webhooks", headers=ann)
        anonymous = await role.client.get("/webhooks")

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["url"] == "http://127.0.0.1:9/hook"
    assert body["events"] == ["job.failed"]
    assert body["enabled"] is True
    assert created.headers["cache-control"] == "no-store"
    assert created.headers["location"] == f"/webhooks/{webhook_id}"
    (shown,) = listed.json()["webhooks"]
    assert shown["webhook_id"] == webhook_id
    assert "secret" not in shown  # shown once, at creation
    assert others.json() == {"webhooks": []}
    assert [r.status_code for r in foreign] == [404, 404, 404]
    assert foreign[0].headers["content-type"] == PROBLEM
    assert third.status_code == 409
    assert third.json()["type"].endswith("/too-many-webhooks")
    assert third.json()["limit"] == 2
    assert deleted.status_code == 204
    assert again.status_code == 404
    assert [w["url"] for w in after.json()["webhooks"]] == ["http://127.0.0.1:9/second"]
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://127.0.0.1/hook", "events": ["job.failed"]},
        {"url": "http://user:pw@127.0.0.1/hook", "events": ["job.failed"]},
        {"url": "http:///hook", "events": ["job.failed"]},
        {"url": "http://127.0.0.1/" + "a" * 2100, "events": ["job.failed"]},
        {"url": "http://127.0.0.1/hook", "events": ["job.converting"]},
        {"url": "http://127.0.0.1/hook", "events": []},
        {"url": "http://169.254.169.254/latest/meta-data/", "events": ["job.failed"]},
    ],
    ids=["ftp", "credentials", "no-host", "too-long", "unknown-event", "no-event", "metadata"],
)
async def test_what_is_not_a_webhook_is_refused_with_422(
    notification_role: RoleFactory, body: dict[str, Any]
) -> None:
    async with notification_role() as role:
        response = await role.client.post("/webhooks", json=body, headers=role.tokens.bearer("ann"))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("http://192.168.0.10/hook", "192.168.0.10 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"),
        ("http://[::1]:8080/hook", "::1 is a loopback address"),
        ("http://[::ffff:10.0.0.1]/hook", "::ffff:a00:1 (10.0.0.1) is a private address"),
        ("http://[fd00::1]/hook", "fd00::1 is a private address"),
        ("http://0.0.0.0:8080/hook", "0.0.0.0 is an unspecified address"),
        ("https://localhost:8443/hook", "is a loopback address"),
    ],
)
async def test_production_refuses_non_public_targets_at_registration(
    notification_role: RoleFactory, url: str, reason: str
) -> None:
    async with notification_role(production=True) as role:
        response = await role.register("ann", url)
        listed = await role.client.get("/webhooks", headers=role.tokens.bearer("ann"))

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/webhook-url-refused")
    assert reason in problem["detail"]
    assert listed.json() == {"webhooks": []}


async def test_a_job_event_reaches_the_receiver_signed_and_verifiable(
    notification_role: RoleFactory,
) -> None:
    async with notification_role() as role, webhook_receiver() as receiver:
        ann = await role.registered("ann", receiver.url(), ["job.succeeded"])
        bob = await role.registered("bob", receiver.url("/bob"), BOTH)
        event = succeeded("ann")
        failed = JobFailed(
            job_id=uuid.uuid4().hex,
            owner_id="ann",
            owner_email="ann@example.com",
            filename="broken.mp4",
            code="no-audio",
            reason="the file has no audio stream",
        )
        await publish(role.settings, event, failed)
        (received,) = await receiver.wait_for(1)
        deliveries = await role.settled("ann", ann["webhook_id"])
        await asyncio.sleep(0.5)  # a second delivery (bob's, or the failure's) would show now

    (payload,) = receiver.verified(ann["secret"])
    assert payload == {
        "type": "job.succeeded",
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "job_id": event.job_id,
            "status": "done",
            "filename": "talk.mp4",
            "duration_seconds": 61.5,
            "size_bytes": 987_654,
            "job_url": f"https://mp3converter.example/jobs/{event.job_id}",
            "download_url": f"https://mp3converter.example/download/{event.job_id}",
        },
    }
    assert received.headers["content-type"] == "application/json"
    assert received.headers["webhook-id"].startswith("msg_")
    assert len(receiver.received) == 1  # not bob's endpoint; not the unsubscribed failure
    assert bob["webhook_id"] != ann["webhook_id"]
    (delivery,) = deliveries
    assert delivery["delivery_id"] == received.headers["webhook-id"]
    assert delivery["event_type"] == "job.succeeded"
    assert delivery["status"] == "succeeded"
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] == 200
    assert attempt["error"] is None
    assert attempt["duration_ms"] >= 0
    assert attempt["response_body"] == "answer 200"


async def test_a_redelivered_event_is_delivered_once(notification_role: RoleFactory) -> None:
    async with notification_role() as role, webhook_receiver() as receiver:
        webhook = await role.registered("ann", receiver.url())
        event = succeeded("ann")
        await publish(role.settings, event, event)  # the converter republishing it
        await receiver.wait_for(1)
        await asyncio.sleep(1.0)
        deliveries = await role.deliveries("ann", webhook["webhook_id"])

    assert len(receiver.received) == 1
    assert len(deliveries) == 1


async def test_a_failed_attempt_is_retried_with_the_same_webhook_id(
    notification_role: RoleFactory,
) -> None:
    async with (
        notification_role(webhook_retry_schedule="0.2,0.2,0.2") as role,
        webhook_receiver(statuses=[500, 200]) as receiver,
    ):
        webhook = await role.registered("ann", receiver.url())
        await publish(role.settings, succeeded("ann"))
        first, second = await receiver.wait_for(2)
        (delivery,) = await role.settled("ann", webhook["webhook_id"])

    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.at - first.at >= 0.2 * 0.8  # the schedule's delay, less the most jitter
    assert first.body == second.body
    assert len(receiver.verified(webhook["secret"])) == 2  # each attempt signed anew
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [200, 500]  # newest first


async def test_deliveries_that_keep_failing_give_up_and_disable_the_endpoint(
    notification_role: RoleFactory,
) -> None:
    overrides = {"webhook_retry_schedule": "0.1,0.1", "webhook_disable_after_failures": 2}
    async with (
        notification_role(**overrides) as role,
        webhook_receiver(statuses=[503]) as receiver,
    ):
        webhook = await role.registered("ann", receiver.url())
        webhook_id, ann = webhook["webhook_id"], role.tokens.bearer("ann")
        await publish(role.settings, succeeded("ann"))
        first = await role.settled("ann", webhook_id)
        still_enabled = (await role.client.get("/webhooks", headers=ann)).json()["webhooks"]
        test = await role.client.post(f"/webhooks/{webhook_id}/test", headers=ann)
        both = await role.settled("ann", webhook_id, count=2)
        mail = await role.mailbox.wait_for(lambda m: webhook_id in str(m.get_body()))
        listed = (await role.client.get("/webhooks", headers=ann)).json()["webhooks"]
        await publish(role.settings, succeeded("ann"))
        await asyncio.sleep(1.0)
        after_disabling = await role.deliveries("ann", webhook_id)
        received_while_failing = len(receiver.received)
        bob = role.tokens.bearer("bob")
        not_bobs = await role.client.post(f"/webhooks/{webhook_id}/enable", headers=bob)
        enabled = await role.client.post(f"/webhooks/{webhook_id}/enable", headers=ann)
        receiver.statuses[:] = [200]
        await publish(role.settings, succeeded("ann"))
        after_enabling = await role.settled("ann", webhook_id, count=3)

    (given_up,) = first
    assert given_up["status"] == "failed"
    assert [a["status_code"] for a in given_up["attempts"]] == [503, 503, 503]  # 1 + 2 retries
    assert still_enabled[0]["enabled"] is True  # one failed delivery is not enough
    assert test.status_code == 202
    assert test.json()["event_type"] == "webhook.test"
    assert [d["status"] for d in both] == ["failed", "failed"]
    assert both[0]["event_type"] == "webhook.test"
    assert received_while_failing == 6
    (shown,) = listed
    assert shown["enabled"] is False
    assert shown["disabled_reason"] == "2 deliveries in a row failed"
    assert mail["To"] == "ann@example.com"
    assert mail["Subject"] == "Your mp3converter webhook was disabled"
    assert "HTTP 503" in str(mail.get_body())
    assert len(after_disabling) == 2  # a disabled endpoint gets no new deliveries
    assert not_bobs.status_code == 404  # another user's webhook is unknown to bob
    assert enabled.status_code == 200
    assert enabled.json()["enabled"] is True
    assert enabled.json()["disabled_reason"] is None
    assert enabled.json()["webhook_id"] == webhook_id
    assert after_enabling[0]["status"] == "succeeded"  # deliveries resume, same secret
    assert len(receiver.verified(webhook["secret"])) == 7


async def test_a_success_ends_a_run_of_failures(notification_role: RoleFactory) -> None:
    overrides = {"webhook_retry_schedule": "0.1", "webhook_disable_after_failures": 2}
    # Two failed attempts (one delivery), a success, then two more: never two failures in a row.
    async with (
        notification_role(**overrides) as role,
        webhook_receiver(statuses=[500, 500, 200, 500, 500]) as receiver,
    ):
        webhook = await role.registered("ann", receiver.url())
        webhook_id, ann = webhook["webhook_id"], role.tokens.bearer("ann")
        for count in (1, 2, 3):
            await publish(role.settings, succeeded("ann"))
            await role.settled("ann", webhook_id, count)
        listed = (await role.client.get("/webhooks", headers=ann)).json()["webhooks"]

    assert len(receiver.received) == 5
    assert listed[0]["enabled"] is True


async def test_test_deliveries_are_limited_to_one_a_minute(
    notification_role: RoleFactory,
) -> None:
    async with notification_role() as role, webhook_receiver() as receiver:
        webhook = await role.registered("ann", receiver.url())
        webhook_id, ann = webhook["webhook_id"], role.tokens.bearer("ann")
        # Three calls within a second cross at most one minute boundary: one is refused.
        answers = [
            await role.client.post(f"/webhooks/{webhook_id}/test", headers=ann) for _ in range(3)
        ]
        deliveries = await role.client.get(f"/webhooks/{webhook_id}/deliveries", headers=ann)

    statuses = [answer.status_code for answer in answers]
    assert statuses[0] == 202
    assert 429 in statuses
    refused = answers[statuses.index(429)]
    assert refused.json()["type"].endswith("webhook-test-too-soon")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(deliveries.json()["deliveries"]) == statuses.count(202)


async def test_production_refuses_at_delivery_time_what_is_not_public_any_more(
    mongodb_url: str, mongo_client: Any
) -> None:
    async with token_authority() as tokens, webhook_receiver() as receiver:
        settings = settings_for(mongodb_url, tokens.auth_url, webhook_retry_schedule="0.1")
        production = settings.model_copy(update={"environment": Environment.PRODUCTION})
        ann = tokens.bearer("ann")
        try:
            # Registered in development (loopback allowed), sent by the same deployment
            # restarted in production: the stored URL is checked again at every attempt.
            async with serving(notification.create_app(settings), settings) as client:
                created = await client.post(
                    "/webhooks", json={"url": receiver.url(), "events": BOTH}, headers=ann
                )
            webhook_id = created.json()["webhook_id"]
            async with serving(notification.create_app(production), production) as client:
                await client.post(f"/webhooks/{webhook_id}/test", headers=ann)
                async with asyncio.timeout(WAIT_SECONDS):
                    while (delivery := await _only_delivery(client, webhook_id, ann))[
                        "status"
                    ] == "pending":
                        await asyncio.sleep(0.05)
        finally:
            await mongo_client.drop_database(settings.mongodb_db)

    assert receiver.received == []
    assert delivery["status"] == "failed"
    errors = [a["error"] for a in delivery["attempts"]]
    assert errors == ["refused: 127.0.0.1 is a loopback address"] * 2


async def _only_delivery(client: httpx.AsyncClient, webhook_id: str, auth: dict[str, str]) -> Any:
    response = await client.get(f"/webhooks/{webhook_id}/deliveries", headers=auth)
    (delivery,) = response.json()["deliveries"]
    return delivery


async def test_the_gateway_forwards_webhooks_to_the_notification_role(
    mongodb_url: str, mongo_client: Any
) -> None:
    port = free_port()
    async with token_authority() as tokens, webhook_receiver() as receiver:
        settings = settings_for(
            mongodb_url, tokens.auth_url, notification_url=f"http://127.0.0.1:{port}"
        )
        ann = tokens.bearer("ann")
        try:
            async with (
                serve(
                    notification.create_app(settings.model_copy(update={"http_port": port})),
                    port=port,
                ),
                serving(gateway.create_app(settings), settings) as client,
            ):
                created = await client.post(
                    "/webhooks", json={"url": receiver.url(), "events": BOTH}, headers=ann
                )
                webhook_id = created.json()["webhook_id"]
                test = await client.post(f"/webhooks/{webhook_id}/test", headers=ann)
                await receiver.wait_for(1)
                listed = await client.get("/webhooks", headers=ann)
                deliveries = await client.get(
                    f"/webhooks/{webhook_id}/deliveries?limit=5", headers=ann
                )
                refused = await client.post(
                    "/webhooks", json={"url": "ftp://x", "events": BOTH}, headers=ann
                )
                enabled = await client.post(f"/webhooks/{webhook_id}/enable", headers=ann)
                deleted = await client.delete(f"/webhooks/{webhook_id}", headers=ann)
                anonymous = await client.get("/webhooks")
                documented = (await client.get("/openapi.json")).json()["paths"]
            async with serving(gateway.create_app(settings), settings) as client:
                away = await client.get("/webhooks", headers=ann)
        finally:
            await mongo_client.drop_database(settings.mongodb_db)

    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    assert created.headers["cache-control"] == "no-store"
    assert created.headers["location"] == f"/webhooks/{webhook_id}"
    assert test.status_code == 202
    (payload,) = receiver.verified(created.json()["secret"])
    assert payload["type"] == "webhook.test"
    assert [w["webhook_id"] for w in listed.json()["webhooks"]] == [webhook_id]
    assert deliveries.status_code == 200
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert enabled.status_code == 200
    assert enabled.json()["enabled"] is True
    assert deleted.status_code == 204
    assert anonymous.status_code == 401
    assert {"/webhooks", "/webhooks/{webhook_id}", "/webhooks/{webhook_id}/test"} <= set(documented)
    assert "/webhooks/{webhook_id}/enable" in documented
    assert "/webhooks/{webhook_id}/deliveries" in documented
    assert away.status_code == 503  # the notification role is away: only webhooks are
