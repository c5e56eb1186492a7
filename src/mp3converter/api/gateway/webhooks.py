"""The caller's webhooks, forwarded to the notification role."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from mp3converter.api.deps import GatewayCaller, UpstreamDep
from mp3converter.api.gateway.responses import ERRORS, PROBLEM
from mp3converter.api.webhook_schemas import (
    DeliveryLimit,
    DeliveryList,
    NewWebhook,
    QueuedDelivery,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)

router = APIRouter()


def _path(webhook_id: str, rest: str = "") -> str:
    return f"/webhooks/{quote(webhook_id, safe='')}{rest}"


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses={400: PROBLEM, 401: PROBLEM, 409: PROBLEM, 422: PROBLEM},
    summary="Register a webhook; its signing secret is shown once",
)
async def register(
    request: Request, body: NewWebhook, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_notification(
        request, "/webhooks", stream_body=True, authorization=caller.authorization
    )


@router.get(
    "/webhooks",
    response_model=WebhookList,
    responses={401: PROBLEM},
    summary="The caller's webhooks",
)
async def list_webhooks(request: Request, caller: GatewayCaller, upstream: UpstreamDep) -> Response:
    return await upstream.to_notification(request, "/webhooks", authorization=caller.authorization)


@router.delete(
    "/webhooks/{webhook_id}", status_code=204, responses=ERRORS, summary="Delete a webhook"
)
async def delete_webhook(
    request: Request, webhook_id: str, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_notification(
        request, _path(webhook_id), authorization=caller.authorization
    )


@router.post(
    "/webhooks/{webhook_id}/enable",
    response_model=WebhookOut,
    responses=ERRORS,
    summary="Turn a webhook back on after it was disabled for failing",
)
async def enable_webhook(
    request: Request, webhook_id: str, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_notification(
        request, _path(webhook_id, "/enable"), authorization=caller.authorization
    )


@router.post(
    "/webhooks/{webhook_id}/test",
    status_code=202,
    response_model=QueuedDelivery,
    responses={**ERRORS, 429: PROBLEM},
    summary="Send a webhook.test event to a webhook",
)
async def send_test(
    request: Request, webhook_id: str, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_notification(
        request, _path(webhook_id, "/test"), authorization=caller.authorization
    )


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryList,
    responses=ERRORS,
    summary="A webhook's latest deliveries and their attempts",
)
async def list_deliveries(
    request: Request,
    webhook_id: str,
    caller: GatewayCaller,
    upstream: UpstreamDep,
    limit: DeliveryLimit = 20,
) -> Response:
    return await upstream.to_notification(
        request, _path(webhook_id, "/deliveries"), authorization=caller.authorization
    )
