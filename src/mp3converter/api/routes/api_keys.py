"""Personal API keys: created (shown once), listed and revoked by their owner."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from mp3converter.adapters.api_keys import ApiKey
from mp3converter.api.deps import ApiKeysDep, CurrentPrincipal
from mp3converter.api.schemas import ApiKeyCreated, ApiKeyList, ApiKeyOut, NewApiKey
from mp3converter.usecases.api_keys import KeyNotAllowed
from mp3converter.web.problems import Problem

router = APIRouter()


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key.model_dump())


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_key(body: NewApiKey, caller: CurrentPrincipal, keys: ApiKeysDep) -> ApiKeyCreated:
    try:
        key, secret = await keys.create(
            caller, body.name, admin=body.admin, expires_in_days=body.expires_in_days
        )
    except KeyNotAllowed as exc:
        raise Problem(403, "forbidden", str(exc)) from exc
    return ApiKeyCreated(**_out(key).model_dump(), key=secret)


@router.get("/api-keys", response_model=ApiKeyList)
async def list_keys(caller: CurrentPrincipal, keys: ApiKeysDep) -> ApiKeyList:
    try:
        return ApiKeyList(api_keys=[_out(key) for key in await keys.list(caller)])
    except KeyNotAllowed as exc:
        raise Problem(403, "forbidden", str(exc)) from exc


@router.delete("/api-keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, caller: CurrentPrincipal, keys: ApiKeysDep) -> Response:
    try:
        found = await keys.revoke(caller, key_id)
    except KeyNotAllowed as exc:
        raise Problem(403, "forbidden", str(exc)) from exc
    if not found:
        raise Problem(404, "api-key-not-found", f"no API key {key_id}")
    return Response(status_code=204)
