"""The emails users get when a job ends: a plain-text and an HTML part, from templates."""

from __future__ import annotations

from datetime import datetime
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from mp3converter.contracts import JobFailed, JobSucceeded
from mp3converter.domain.failure_advice import advice_for
from mp3converter.domain.filenames import header_text
from mp3converter.domain.human_units import human_duration, human_size, human_time
from mp3converter.usecases.email_templates import rendered


class UnbuildableEmail(ValueError):
    """The event's data cannot make a valid email; retrying would not change that."""


def built_job_email(
    event: JobSucceeded | JobFailed,
    *,
    sender: str,
    link: str | None,
    link_expires_at: datetime | None = None,
) -> EmailMessage:
    """job_email, serialised once to be sure it can be sent; UnbuildableEmail if it cannot."""
    try:
        message = job_email(event, sender=sender, link=link, link_expires_at=link_expires_at)
        message.as_bytes()  # some header errors only surface when the message is written
    except (ValueError, TypeError, MessageError) as exc:
        raise UnbuildableEmail(f"email for job {event.job_id} cannot be built: {exc}") from exc
    return message


def job_email(
    event: JobSucceeded | JobFailed,
    *,
    sender: str,
    link: str | None,
    link_expires_at: datetime | None = None,
) -> EmailMessage:
    """A multipart/alternative email (plain text, then HTML) telling the owner how their job
    ended; `link` downloads the MP3 until `link_expires_at`."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = event.owner_email
    message["Message-ID"] = make_msgid(idstring=event.job_id, domain="mp3converter.com")
    if isinstance(event, JobSucceeded):
        message["Subject"] = header_text(f"Your MP3 is ready: {event.filename}")
        text, html = rendered("job_succeeded", _success(event, link, link_expires_at))
    else:
        message["Subject"] = header_text(f"Conversion failed: {event.filename}")
        text, html = rendered("job_failed", _failure(event))
    message.set_content(text)
    # Quoted-printable keeps the markup readable in the source whatever script the name is in.
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


# The text part is not escaped: every value from the event is put on one line (as a header
# would be), so a name with line breaks cannot add lines, such as a second link, to the email.


def _success(event: JobSucceeded, link: str | None, expires_at: datetime | None) -> dict[str, Any]:
    return {
        "filename": header_text(event.filename),
        "job_id": header_text(event.job_id),
        "duration": human_duration(event.duration_seconds),
        "size": human_size(event.size_bytes),
        "link": _checked_link(link),
        "expires": human_time(expires_at) if expires_at is not None else None,
    }


def _failure(event: JobFailed) -> dict[str, Any]:
    return {
        "filename": header_text(event.filename),
        "job_id": header_text(event.job_id),
        "reason": header_text(event.reason),
        "code": header_text(event.code),
        "advice": advice_for(event.code),
    }


def _checked_link(link: str | None) -> str | None:
    # A button must lead to the web page it names, on one line of the text part.
    if link is None:
        return None
    if urlsplit(link).scheme not in ("http", "https") or any(
        ch.isspace() or not ch.isprintable() for ch in link
    ):
        raise ValueError(f"a download link must be an http(s) URL without spaces: {link!r}")
    return link
