"""How webhooks and their deliveries look in the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from mp3converter.domain.webhook_targets import MAX_URL_LENGTH
from mp3converter.domain.webhooks import (
    MAX_DESCRIPTION_LENGTH,
    Attempt,
    Delivery,
    DeliveryStatus,
    JobEventType,
    Webhook,
)

# How many deliveries GET /webhooks/{id}/deliveries returns.
DeliveryLimit = Annotated[int, Query(ge=1, le=100)]


class NewWebhook(BaseModel):
    """An endpoint to register: where to POST, and which events."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, examples=["https://example.com/hook"])
    events: list[JobEventType] = Field(min_length=1, max_length=10)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_LENGTH)


class WebhookOut(BaseModel):
    """An endpoint as its owner sees it (never its secret)."""

    webhook_id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    """A new endpoint: `secret` (whsec_…) verifies its deliveries, and is shown this once."""

    secret: str


class WebhookList(BaseModel):
    """The caller's webhooks, oldest first."""

    webhooks: list[WebhookOut]


class AttemptOut(BaseModel):
    """One POST of a delivery: the HTTP status, or the error (timeout, refused, ...)."""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_body: str | None = Field(description="The first KiB of the answer at most")


class DeliveryOut(BaseModel):
    """One event sent to a webhook; `delivery_id` is the `webhook-id` of each attempt."""

    delivery_id: str
    event_type: str
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried next (pending only)")
    attempts: list[AttemptOut]


class DeliveryList(BaseModel):
    """A webhook's latest deliveries, newest first."""

    deliveries: list[DeliveryOut]


class QueuedDelivery(BaseModel):
    """The test delivery that was queued."""

    delivery_id: str
    event_type: str


def webhook_out(webhook: Webhook) -> WebhookOut:
    """The public view of an endpoint."""
    return WebhookOut(
        webhook_id=webhook.webhook_id,
        url=webhook.url,
        events=list(webhook.events),
        description=webhook.description,
        enabled=webhook.enabled,
        disabled_reason=webhook.disabled_reason,
        created_at=webhook.created_at,
    )


def _attempt_out(attempt: Attempt) -> AttemptOut:
    return AttemptOut(
        at=attempt.at,
        status_code=attempt.status_code,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
        response_body=attempt.response_body,
    )


def delivery_out(delivery: Delivery) -> DeliveryOut:
    """The public view of a delivery, its attempts newest first."""
    pending = delivery.status is DeliveryStatus.PENDING
    return DeliveryOut(
        delivery_id=delivery.delivery_id,
        event_type=delivery.event_type,
        status=delivery.status,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        attempts=[_attempt_out(each) for each in reversed(delivery.attempts)],
    )
