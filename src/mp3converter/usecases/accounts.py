"""Accounts: creating them (HTTP API, CLI, admin bootstrap) and what an admin or owner changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from mp3converter.adapters.api_keys import ApiKeyStore
from mp3converter.adapters.passwords import Passwords
from mp3converter.adapters.refresh_tokens import RefreshTokenStore
from mp3converter.adapters.revocations import RevocationStore
from mp3converter.adapters.user_store import UserStore
from mp3converter.contracts import utcnow
from mp3converter.domain.users import MIN_PASSWORD_LENGTH, User, normalize_email

log = logging.getLogger(__name__)


class InvalidAccount(ValueError):
    """The email or password is not acceptable."""


class UnknownUser(LookupError):
    """No user has this id."""


class SelfLockout(ValueError):
    """An admin may not disable, demote or delete their own account."""


class WrongPassword(ValueError):
    """The current password given to change it is wrong."""


def check_credentials(email: str, password: str) -> str:
    """The normalised email, or InvalidAccount with the reason."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidAccount(f"invalid email: {exc}") from exc
    check_password(password)
    return normalize_email(checked)


def check_password(password: str) -> None:
    """InvalidAccount unless the password is long enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccount(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


async def create_account(
    store: UserStore, passwords: Passwords, email: str, password: str, *, is_admin: bool
) -> User:
    """Create a user; InvalidAccount or EmailTaken on refusal."""
    normalized = check_credentials(email, password)
    return await store.add(normalized, await passwords.hash(password), is_admin=is_admin)


async def ensure_admin(store: UserStore, passwords: Passwords, email: str, password: str) -> None:
    """Create the admin account once; an existing account is left as it is."""
    if await store.by_email(email) is not None:
        log.info("admin account %s already exists", normalize_email(email))
        return
    await create_account(store, passwords, email, password, is_admin=True)
    log.info("created admin account %s", normalize_email(email))


@dataclass
class Accounts:
    """What an admin does to users, and what a user does to their own account.

    Every change that takes access away revokes the user's refresh tokens and puts them on the
    revocation list, so access tokens already issued stop working within the list's refresh.
    """

    users: UserStore
    passwords: Passwords
    refresh_tokens: RefreshTokenStore
    revocations: RevocationStore
    api_keys: ApiKeyStore

    async def update(
        self, actor_id: str, user_id: str, *, disabled: bool | None, is_admin: bool | None
    ) -> User:
        """Disable or enable a user, grant or take admin rights."""
        if actor_id == user_id and (disabled or is_admin is False):
            raise SelfLockout("you cannot disable or demote your own account")
        fields = {
            k: v for k, v in (("disabled", disabled), ("is_admin", is_admin)) if v is not None
        }
        user = (
            await self.users.update(user_id, **fields)
            if fields
            else await self.users.by_id(user_id)
        )
        if user is None:
            raise UnknownUser(user_id)
        if disabled:
            await self._cut_off(user_id, blocked=True)
        elif disabled is False:
            await self.revocations.unblock(user_id)
        if is_admin is False:  # tokens claiming admin rights must not outlive them
            await self._cut_off(user_id, blocked=bool(user.disabled))
        return user

    async def delete(self, actor_id: str, user_id: str) -> None:
        """Delete a user; their jobs and files expire under the normal retention."""
        if actor_id == user_id:
            raise SelfLockout("you cannot delete your own account")
        if not await self.users.delete(user_id):
            raise UnknownUser(user_id)
        await self.api_keys.revoke_owner(user_id)
        await self._cut_off(user_id, blocked=True)

    async def change_password(self, user_id: str, current: str, new: str) -> None:
        """Change a user's password; every session of theirs ends."""
        check_password(new)
        user = await self.users.by_id(user_id)
        if user is None:
            raise UnknownUser(user_id)
        if not await self.passwords.verify(user.password_hash, current):
            raise WrongPassword("the current password is wrong")
        await self.users.set_password_hash(user_id, await self.passwords.hash(new))
        await self._cut_off(user_id, blocked=False)

    async def _cut_off(self, user_id: str, *, blocked: bool) -> None:
        await self.refresh_tokens.revoke_user(user_id)
        await self.revocations.revoke(user_id, utcnow(), blocked=blocked)
