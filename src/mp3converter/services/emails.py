"""The emails users get when a job ends."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from mp3converter.contracts import JobFailed, JobSucceeded


def job_email(event: JobSucceeded | JobFailed, *, sender: str, base_url: str) -> EmailMessage:
    """A plain-text email telling the owner how their job ended."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = event.owner_email
    message["Message-ID"] = make_msgid(idstring=event.job_id, domain="mp3converter.com")
    if isinstance(event, JobSucceeded):
        link = f"{base_url.rstrip('/')}/download/{event.job_id}"
        message["Subject"] = f"Your MP3 is ready: {event.filename}"
        body = (
            f"Your video {event.filename!r} was converted to MP3.\n\n"
            f"Job: {event.job_id}\n"
            f"Length: {event.duration_seconds:.1f} s\n"
            f"Download (with your access token): {link}\n"
        )
    else:
        message["Subject"] = f"Conversion failed: {event.filename}"
        body = (
            f"Your video {event.filename!r} could not be converted.\n\n"
            f"Job: {event.job_id}\n"
            f"Reason: {event.reason} ({event.code})\n"
        )
    message.set_content(body)
    return message
