"""The caller's webhooks, served by the notification role: register, list, delete, test, and
the latest deliveries of each."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mp3converter.api.deps import CurrentPrincipal, WebhooksDep
from mp3converter.api.webhook_schemas import (
    DeliveryLimit,
    DeliveryList,
    NewWebhook,
    QueuedDelivery,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    delivery_out,
    webhook_out,
)
from mp3converter.domain.webhook_targets import TargetRefused
from mp3converter.usecases.webhooks import TestTooSoon, TooManyWebhooks
from mp3converter.web.problems import Problem

router = APIRouter()


def _not_found(webhook_id: str) -> Problem:
    # Another user's webhook is as unknown as a missing one.
    return Problem(404, "webhook-not-found", f"no webhook {webhook_id}")


@router.post("/webhooks", status_code=201, response_model=WebhookCreated)
async def register(
    body: NewWebhook, caller: CurrentPrincipal, hooks: WebhooksDep, response: Response
) -> WebhookCreated:
    try:
        webhook = await hooks.register(caller, body.url, list(body.events), body.description)
    except TargetRefused as exc:
        raise Problem(422, "webhook-url-refused", f"the webhook URL is refused: {exc}") from exc
    except TooManyWebhooks as exc:
        raise Problem(409, "too-many-webhooks", str(exc), limit=exc.limit) from exc
    # The secret is shown this once (Cache-Control: no-store, see web/security_headers.py).
    response.headers["Location"] = f"/webhooks/{webhook.webhook_id}"
    return WebhookCreated(**webhook_out(webhook).model_dump(), secret=webhook.secret)


@router.get("/webhooks", response_model=WebhookList)
async def list_webhooks(caller: CurrentPrincipal, hooks: WebhooksDep) -> WebhookList:
    return WebhookList(webhooks=[webhook_out(each) for each in await hooks.of_caller(caller)])


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: str, caller: CurrentPrincipal, hooks: WebhooksDep) -> Response:
    if not await hooks.delete(caller, webhook_id):
        raise _not_found(webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/enable", response_model=WebhookOut)
async def enable_webhook(
    webhook_id: str, caller: CurrentPrincipal, hooks: WebhooksDep
) -> WebhookOut:
    webhook = await hooks.enable(caller, webhook_id)
    if webhook is None:
        raise _not_found(webhook_id)
    return webhook_out(webhook)


@router.post("/webhooks/{webhook_id}/test", status_code=202, response_model=QueuedDelivery)
async def send_test(
    webhook_id: str, caller: CurrentPrincipal, hooks: WebhooksDep
) -> QueuedDelivery:
    try:
        delivery = await hooks.send_test(caller, webhook_id)
    except TestTooSoon as exc:
        retry = {"Retry-After": str(exc.retry_after)}
        raise Problem(429, "webhook-test-too-soon", str(exc), headers=retry) from exc
    if delivery is None:
        raise _not_found(webhook_id)
    return QueuedDelivery(delivery_id=delivery.delivery_id, event_type=delivery.event_type)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(
    webhook_id: str, caller: CurrentPrincipal, hooks: WebhooksDep, limit: DeliveryLimit = 20
) -> DeliveryList:
    found = await hooks.recent_deliveries(caller, webhook_id, limit)
    if found is None:
        raise _not_found(webhook_id)
    return DeliveryList(deliveries=[delivery_out(each) for each in found])
