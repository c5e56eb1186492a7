"""Creating accounts: shared by the HTTP API, the CLI and the admin bootstrap."""

from __future__ import annotations

import logging

from email_validator import EmailNotValidError, validate_email

from mp3converter.adapters.user_store import UserStore
from mp3converter.domain.users import User, normalize_email
from mp3converter.services.passwords import MIN_PASSWORD_LENGTH, hash_password

log = logging.getLogger(__name__)


class InvalidAccount(ValueError):
    """The email or password is not acceptable."""


def check_credentials(email: str, password: str) -> str:
    """The normalised email, or InvalidAccount with the reason."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidAccount(f"invalid email: {exc}") from exc
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccount(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return normalize_email(checked)


async def create_account(store: UserStore, email: str, password: str, *, is_admin: bool) -> User:
    """Create a user; InvalidAccount or EmailTaken on refusal."""
    normalized = check_credentials(email, password)
    return await store.add(normalized, await hash_password(password), is_admin=is_admin)


async def ensure_admin(store: UserStore, email: str, password: str) -> None:
    """Create the admin account once; an existing account is left as it is."""
    if await store.by_email(email) is not None:
        log.info("admin account %s already exists", normalize_email(email))
        return
    await create_account(store, email, password, is_admin=True)
    log.info("created admin account %s", normalize_email(email))
