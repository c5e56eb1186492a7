"""Webhook endpoints and their deliveries: what they are, which events they may subscribe to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

# The job events a webhook may subscribe to (the routing keys of the final job events), and the
# event `POST /webhooks/{id}/test` sends.
JobEventType = Literal["job.succeeded", "job.failed"]
JOB_EVENT_TYPES: tuple[str, ...] = get_args(JobEventType)
TEST_EVENT_TYPE = "webhook.test"
MAX_DESCRIPTION_LENGTH = 200


class DeliveryStatus(StrEnum):
    """A delivery is pending until an attempt gets a 2xx (succeeded) or none is left (failed)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Webhook:
    """An endpoint a user registered; its secret signs every delivery to it."""

    webhook_id: str
    owner_id: str
    owner_email: str
    url: str
    events: tuple[str, ...]
    secret: str
    description: str | None
    enabled: bool
    created_at: datetime
    consecutive_failures: int = 0
    disabled_reason: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One POST of a delivery: when, the HTTP status or the error, how long it took."""

    at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = None

    @property
    def succeeded(self) -> bool:
        """A 2xx answer; anything else (3xx included: redirects are not followed) failed."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Delivery:
    """One event for one webhook, tried until it succeeds or its attempts run out.

    `delivery_id` is the `webhook-id` header of every attempt, so a receiver can drop repeats.
    """

    delivery_id: str
    webhook_id: str
    owner_id: str
    event_type: str
    payload: str
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
