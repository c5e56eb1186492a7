"""Endpoints for the other roles, never routed by the gateway: revocations and key exchange."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from mp3converter.adapters.revocations import REVOCATIONS_PATH
from mp3converter.api.deps import ApiKeysDep, RevocationsDep
from mp3converter.web.key_exchange import EXCHANGE_PATH
from mp3converter.web.problems import Problem

router = APIRouter(prefix="", include_in_schema=False)


class KeyToExchange(BaseModel):
    """An API key the gateway received."""

    key: str = Field(min_length=1, max_length=200)


@router.get(REVOCATIONS_PATH)
async def revocations(store: RevocationsDep) -> dict[str, Any]:
    entries = await store.all()
    return {
        "revocations": [
            {"user_id": e.user_id, "not_before": e.not_before, "blocked": e.blocked}
            for e in entries
        ]
    }


@router.post(EXCHANGE_PATH)
async def exchange_key(body: KeyToExchange, keys: ApiKeysDep) -> dict[str, Any]:
    exchanged = await keys.exchange(body.key)
    if exchanged is None:
        raise Problem(401, "invalid-api-key", "invalid, revoked or expired API key")
    token, lifetime, _ = exchanged
    return {"access_token": token, "token_type": "bearer", "expires_in": lifetime}
