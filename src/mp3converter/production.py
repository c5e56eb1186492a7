"""What production refuses: development defaults, placeholders and weak secrets, by variable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mp3converter.config import Settings

DEV_BROKER_CREDENTIALS = "guest:guest@"
# The link key `make run` and the tests use; never acceptable in production.
DEV_LINK_SIGNING_KEYS = "dev:development-only-link-signing-key-0000"
WEAK_PASSWORDS = frozenset(
    {"admin", "password", "changeme", "secret", "guest", "root", "mongo", "rabbitmq", "123456"}
)
PLACEHOLDER = re.compile(r"change-?me|placeholder|replace-?me|example|xxx|^<.*>$", re.IGNORECASE)
MIN_PASSWORD = 12
MIN_LINK_SECRET = 32
BROKER_ROLES = ("upload", "converter", "notification")
DATABASE_ROLES = ("auth", "upload", "converter", "notification")
LINK_ROLES = ("gateway", "upload", "notification")


def weakness(secret: str) -> str | None:
    """Why this secret is not fit for production, or None."""
    if PLACEHOLDER.search(secret):
        return "is a placeholder"
    if secret.lower() in WEAK_PASSWORDS or len(secret) < MIN_PASSWORD:
        return f"must be a strong secret of {MIN_PASSWORD}+ characters"
    return None


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def production_problems(settings: Settings) -> list[str]:
    """Every reason this role (with no role: any role) must not start in production."""
    return list(_problems(settings))


def _problems(s: Settings) -> Iterator[str]:
    def needs(*roles: str) -> bool:
        return s.role is None or s.role in roles

    amqp = s.amqp_url.get_secret_value()
    if needs(*BROKER_ROLES):
        if DEV_BROKER_CREDENTIALS in amqp:
            yield "AMQP_URL uses the guest:guest development credentials"
        elif (password := _url_password(amqp)) and (why := weakness(password)):
            yield f"AMQP_URL's password {why}"
    database_password = _url_password(s.mongodb_url) if needs(*DATABASE_ROLES) else None
    if database_password and (why := weakness(database_password)):
        yield f"MONGODB_URL's password {why}"
    if needs("auth"):
        yield from _auth_problems(s)
    if needs(*LINK_ROLES):
        yield from _link_problems(s.link_signing_keys.get_secret_value())
    if needs("notification"):
        if s.smtp_host is None:
            yield "SMTP_HOST must be set (the local .eml outbox is for development)"
        if s.smtp_password is not None and (why := weakness(s.smtp_password.get_secret_value())):
            yield f"SMTP_PASSWORD {why}"
    if needs("notification", "upload") and not s.public_base_url.startswith("https://"):
        yield "PUBLIC_BASE_URL must be https://"


def _auth_problems(s: Settings) -> Iterator[str]:
    if s.jwt_private_key_file is None:
        yield "JWT_PRIVATE_KEY_FILE must name the signing key (no generated key)"
    elif s.jwt_private_key_file.exists() and s.jwt_private_key_file.stat().st_mode & 0o004:
        yield "JWT_PRIVATE_KEY_FILE is readable by every user: make it 0400 (or 0440)"
    if s.admin_password is not None and (why := weakness(s.admin_password.get_secret_value())):
        yield f"ADMIN_PASSWORD {why}"


def _link_problems(keys: str) -> Iterator[str]:
    if keys == DEV_LINK_SIGNING_KEYS:
        yield "LINK_SIGNING_KEYS must be set (the built-in key is for development)"
        return
    for entry in keys.split(","):
        _, _, secret = entry.partition(":")
        if PLACEHOLDER.search(secret) or len(secret) < MIN_LINK_SECRET:
            yield f"LINK_SIGNING_KEYS: each key must be key_id:secret with {MIN_LINK_SECRET}+ random characters"
            return
