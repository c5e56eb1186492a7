"""Signing in: password logins (throttled, hashing bounded), refresh-token rotation, revocation."""

from __future__ import annotations

from dataclasses import dataclass

from mp3converter.adapters.jwt_keys import TokenIssuer
from mp3converter.adapters.login_throttle import LoginThrottle
from mp3converter.adapters.passwords import Passwords
from mp3converter.adapters.refresh_tokens import InvalidGrant, RefreshTokenStore
from mp3converter.adapters.user_store import UserStore
from mp3converter.domain.users import User, normalize_email


class LoginThrottled(Exception):
    """Too many failed logins for this account or client; try again after `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after} s")
        self.retry_after = retry_after


class BadCredentials(Exception):
    """The email or password is wrong."""


class AccountDisabled(Exception):
    """The credentials are right but the account is disabled."""


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh gives: a short access token and the next refresh token."""

    access_token: str
    expires_in: int
    refresh_token: str


@dataclass
class Sessions:
    """The auth role's sign-in use case."""

    users: UserStore
    passwords: Passwords
    issuer: TokenIssuer
    refresh_tokens: RefreshTokenStore
    throttle: LoginThrottle

    async def password_login(self, email: str, password: str, client: str) -> TokenPair:
        """Tokens for valid credentials; throttled before the password is even checked."""
        keys = {"account": normalize_email(email), "client": client}
        if (wait := await self.throttle.retry_after(keys)) is not None:
            raise LoginThrottled(wait)
        user = await self.users.by_email(email)
        stored = user.password_hash if user else None
        if not await self.passwords.verify(stored, password) or user is None:
            await self.throttle.failed(keys)
            raise BadCredentials
        await self.throttle.succeeded("account", keys["account"])
        if user.disabled:
            raise AccountDisabled
        if self.passwords.needs_rehash(user.password_hash):
            await self.users.set_password_hash(user.user_id, await self.passwords.hash(password))
        return self._pair(user, await self.refresh_tokens.issue(user.user_id))

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate the refresh token; InvalidGrant if it is unusable or its user may not sign in."""
        user_id, following = await self.refresh_tokens.rotate(refresh_token)
        user = await self.users.by_id(user_id)
        if user is None or user.disabled:
            await self.refresh_tokens.revoke_user(user_id)
            raise InvalidGrant("the account no longer exists or is disabled")
        return self._pair(user, following)

    async def revoke(self, refresh_token: str) -> None:
        """RFC 7009: revoke the token (its whole login); unknown tokens are fine."""
        await self.refresh_tokens.revoke(refresh_token)

    def _pair(self, user: User, refresh_token: str) -> TokenPair:
        access = self.issuer.issue(subject=user.user_id, email=user.email, admin=user.is_admin)
        return TokenPair(access, self.issuer.ttl_seconds, refresh_token)
