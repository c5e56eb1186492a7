"""What a webhook delivery carries: the payload of each event, its signature, and the email
sent when an endpoint is disabled."""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime

from standardwebhooks import Webhook as Verifier

from mp3converter.adapters.webhook_signing import new_secret, signed_headers
from mp3converter.api.webhook_schemas import NewWebhook
from mp3converter.contracts import JobFailed, JobSucceeded, utcnow
from mp3converter.domain.webhooks import JOB_EVENT_TYPES, Attempt, Webhook
from mp3converter.usecases.webhook_emails import webhook_disabled_email
from mp3converter.usecases.webhooks import job_data, payload
from tests.mail_parts import alternatives, html_of, received, text_of

BASE = "https://mp3converter.example"
SUCCEEDED = JobSucceeded(
    job_id="j1",
    owner_id="ann",
    owner_email="ann@example.com",
    filename="talk.mp4",
    duration_seconds=12.5,
    size_bytes=2048,
)
FAILED = JobFailed(
    job_id="j2",
    owner_id="ann",
    owner_email="ann@example.com",
    filename="mute.mp4",
    code="no-audio",
    reason="the file has no audio stream",
)


def test_webhooks_subscribe_to_the_final_job_events() -> None:
    assert set(JOB_EVENT_TYPES) == {JobSucceeded.ROUTING_KEY, JobFailed.ROUTING_KEY}
    (events_field,) = typing.get_args(NewWebhook.model_fields["events"].annotation)
    assert set(typing.get_args(events_field)) == set(JOB_EVENT_TYPES)


def test_a_success_tells_the_job_and_where_to_get_it() -> None:
    assert job_data(SUCCEEDED, BASE) == {
        "job_id": "j1",
        "status": "done",
        "filename": "talk.mp4",
        "duration_seconds": 12.5,
        "size_bytes": 2048,
        "job_url": f"{BASE}/jobs/j1",
        "download_url": f"{BASE}/download/j1",
    }


def test_a_failure_tells_the_code_and_reason() -> None:
    data = job_data(FAILED, BASE)
    assert data["status"] == "failed"
    assert data["error"] == {"code": "no-audio", "reason": "the file has no audio stream"}


def test_no_payload_names_the_owner() -> None:
    for event in (SUCCEEDED, FAILED):
        text = payload(event.routing_key, job_data(event, BASE), event.occurred_at.isoformat())
        assert "ann" not in text
        assert json.loads(text)["type"] == event.routing_key


def test_a_signed_delivery_verifies_with_the_standard_library() -> None:
    secret = new_secret()
    body = payload("job.succeeded", {"job_id": "j1", "filename": "ünïcode.mp4"}, "2025-01-01")
    headers = signed_headers(secret, "msg_1", utcnow(), body)

    assert secret.startswith("whsec_")
    assert headers["webhook-id"] == "msg_1"
    assert headers["content-type"] == "application/json"
    assert Verifier(secret).verify(body.encode(), headers)["data"]["filename"] == "ünïcode.mp4"
    assert new_secret() != secret


def _disabled_webhook(reason: str) -> Webhook:
    return Webhook(
        webhook_id="w1",
        owner_id="ann",
        owner_email="ann@example.com",
        url="https://hooks.example.com/in",
        events=("job.succeeded",),
        secret=new_secret(),
        description=None,
        enabled=False,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        disabled_reason=reason,
    )


def test_the_disabled_email_says_which_endpoint_why_and_what_to_do() -> None:
    webhook = _disabled_webhook("5 deliveries in a row failed")
    last = Attempt(at=utcnow(), duration_ms=10_000, error="no answer within 10 s")
    email = received(
        webhook_disabled_email(webhook, sender="noreply@example.com", last_attempt=last).as_bytes()
    )

    assert email["To"] == "ann@example.com"
    assert alternatives(email) == ["text/plain", "text/html"]
    for part in (text_of(email), html_of(email)):
        assert "https://hooks.example.com/in" in part
        assert "5 deliveries in a row failed" in part
        assert "no answer within 10 s" in part
        assert "POST /webhooks" in part
        assert f"/webhooks/{webhook.webhook_id}/deliveries" in part
        assert webhook.secret not in part
        assert "you registered this webhook" in part


def test_a_hostile_webhook_reason_cannot_add_markup_or_lines() -> None:
    webhook = _disabled_webhook("<script>x()</script>\nLink: https://evil.example")
    email = received(
        webhook_disabled_email(webhook, sender="noreply@example.com", last_attempt=None).as_bytes()
    )
    assert "<script>" not in html_of(email)
    assert not any(line.startswith("Link:") for line in text_of(email).splitlines())
    assert "no attempt was made" in text_of(email)
