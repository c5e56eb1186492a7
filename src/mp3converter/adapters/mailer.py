"""Sending email: over SMTP, or into a local outbox of .eml files when no server is configured."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib
import anyio

from mp3converter.config import Settings

log = logging.getLogger(__name__)


class Mailer(Protocol):
    """Delivers one message or raises."""

    async def send(self, message: EmailMessage) -> None:
        """Deliver the message."""


class SmtpMailer:
    """Delivers through an SMTP server, with optional TLS and credentials."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Deliver over SMTP; raises aiosmtplib errors on failure."""
        s = self._settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            use_tls=s.smtp_tls == "tls",
            start_tls=s.smtp_tls == "starttls",
            cert_bundle=str(s.smtp_ca_file) if s.smtp_ca_file else None,
            timeout=s.smtp_timeout_seconds,
        )


class OutboxMailer:
    """Writes each message as an .eml file: the local default, so nothing needs a mail server."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        """Write the message atomically into the outbox directory."""
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain="mp3converter.local")
        token = message["Message-ID"].strip("<>").replace("/", "_")
        final = anyio.Path(self.directory / f"{token}.eml")
        partial = anyio.Path(self.directory / f".{token}.eml.part")
        await anyio.Path(self.directory).mkdir(parents=True, exist_ok=True)
        await partial.write_bytes(bytes(message))
        await partial.rename(final)
        log.info("mail to %s written to %s", message["To"], final)


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when SMTP_HOST is set, else the local outbox."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxMailer(settings.resolved_outbox_dir)
