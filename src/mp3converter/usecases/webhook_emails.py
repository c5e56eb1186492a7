"""The email an owner gets when one of their webhooks is disabled."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from mp3converter.domain.filenames import header_text
from mp3converter.domain.webhooks import Attempt, Webhook
from mp3converter.usecases.email_templates import rendered


def _outcome(attempt: Attempt | None) -> str:
    if attempt is None:
        return "no attempt was made"
    if attempt.error is not None:
        return attempt.error
    return f"HTTP {attempt.status_code}"


def webhook_disabled_email(
    webhook: Webhook, *, sender: str, last_attempt: Attempt | None
) -> EmailMessage:
    """A multipart/alternative email: which endpoint stopped receiving events, why, and what to
    do. Every value is put on one line (header_text), as in the job emails."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = webhook.owner_email
    message["Message-ID"] = make_msgid(idstring=webhook.webhook_id, domain="mp3converter.com")
    message["Subject"] = "Your mp3converter webhook was disabled"
    context = {
        "reason": header_text(webhook.disabled_reason or "its deliveries kept failing"),
        "webhook_id": header_text(webhook.webhook_id),
        "url": header_text(webhook.url),
        "last_attempt": header_text(_outcome(last_attempt)),
    }
    text, html = rendered("webhook_disabled", context)
    message.set_content(text)
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message
