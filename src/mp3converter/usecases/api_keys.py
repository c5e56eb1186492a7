"""Personal API keys for scripts and CI, exchanged by the gateway for short access tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mp3converter.adapters.api_keys import ApiKey, ApiKeyStore
from mp3converter.adapters.jwt_keys import TokenIssuer
from mp3converter.adapters.token_verifier import Principal
from mp3converter.adapters.user_store import UserStore
from mp3converter.contracts import utcnow


class KeyNotAllowed(PermissionError):
    """The caller may not do this with API keys."""


@dataclass
class ApiKeys:
    """Keys are created, listed and revoked by their owner, signed in with a password.

    A key never carries admin rights unless an admin creates it with `admin: true`; a token
    exchanged for a key carries admin rights only while its owner is still an admin.
    """

    store: ApiKeyStore
    users: UserStore
    issuer: TokenIssuer
    token_ttl_seconds: int

    async def create(
        self, caller: Principal, name: str, *, admin: bool, expires_in_days: int | None
    ) -> tuple[ApiKey, str]:
        """A new key of the caller and its secret string (shown once)."""
        self._signed_in_with_password(caller)
        if admin and not caller.is_admin:
            raise KeyNotAllowed("only an admin can create an admin key")
        expires_at = (
            utcnow() + timedelta(days=expires_in_days) if expires_in_days is not None else None
        )
        return await self.store.create(caller.user_id, name, admin=admin, expires_at=expires_at)

    async def list(self, caller: Principal) -> list[ApiKey]:
        """The caller's keys."""
        self._signed_in_with_password(caller)
        return await self.store.list_for(caller.user_id)

    async def revoke(self, caller: Principal, key_id: str) -> bool:
        """Revoke one of the caller's keys; whether it existed."""
        self._signed_in_with_password(caller)
        return await self.store.revoke(caller.user_id, key_id)

    async def exchange(self, presented: str) -> tuple[str, int, datetime | None] | None:
        """(access token, its lifetime, the key's expiry) for a valid key of an active user."""
        key = await self.store.verify(presented)
        if key is None:
            return None
        owner = await self.users.by_id(key.owner_id)
        if owner is None or owner.disabled:
            return None
        token = self.issuer.issue(
            subject=owner.user_id,
            email=owner.email,
            admin=key.admin and owner.is_admin,
            ttl_seconds=self.token_ttl_seconds,
            api_key_id=key.key_id,
        )
        return token, self.token_ttl_seconds, key.expires_at

    @staticmethod
    def _signed_in_with_password(caller: Principal) -> None:
        if caller.api_key_id is not None:
            raise KeyNotAllowed("API keys are managed when signed in with a password, not a key")
