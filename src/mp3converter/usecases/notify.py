"""The notification use case: one email per job outcome, never two for the same event."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from prometheus_client import Counter

from mp3converter.adapters.mailer import Mailer
from mp3converter.adapters.mongo import Database
from mp3converter.contracts import AnyJobEvent, JobFailed, JobSucceeded, utcnow
from mp3converter.domain.download_links import DownloadLinks
from mp3converter.usecases.email_templates import load_templates
from mp3converter.usecases.emails import UnbuildableEmail, built_job_email

log = logging.getLogger(__name__)
SENT = Counter("mp3converter_notifications_total", "Notifications handled", ["kind", "result"])


class Notifier:
    """Emails the owner when a job ends; a redelivered event is recognised and not sent twice."""

    def __init__(self, db: Database, mailer: Mailer, *, sender: str, links: DownloadLinks) -> None:
        self._sent = db.notifications
        self._mailer = mailer
        self._sender = sender
        self._links = links
        load_templates()  # a package without its email templates fails here, at start-up

    async def notify(self, event: AnyJobEvent) -> None:
        """Send the email unless this event was already notified (or needs none)."""
        if not isinstance(event, JobSucceeded | JobFailed):
            return
        if await self._sent.find_one({"_id": event.message_id}) is not None:
            SENT.labels(event.type, "duplicate").inc()
            return
        try:
            link = expires_at = None
            if isinstance(event, JobSucceeded):
                # One expiry for the link and for the email's words (the second they are made).
                expires = int(time.time()) + self._links.ttl_seconds
                link = self._links.for_job(event.job_id, event.owner_id, not_after=expires)
                expires_at = datetime.fromtimestamp(expires, UTC)
            email = built_job_email(
                event, sender=self._sender, link=link, link_expires_at=expires_at
            )
            await self._mailer.send(email)
        except UnbuildableEmail:
            SENT.labels(event.type, "unbuildable").inc()
            raise
        except Exception:
            SENT.labels(event.type, "error").inc()
            raise
        await self._sent.insert_one(
            {
                "_id": event.message_id,
                "job_id": event.job_id,
                "to": event.owner_email,
                "sent_at": utcnow(),
            }
        )
        SENT.labels(event.type, "sent").inc()
        log.info("%s email of job %s sent", event.type, event.job_id)
