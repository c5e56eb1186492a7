"""Personal API keys, forwarded to the auth role."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from mp3converter.api.deps import GatewayCaller, UpstreamDep
from mp3converter.api.gateway.responses import ERRORS, PROBLEM
from mp3converter.api.schemas import ApiKeyCreated, ApiKeyList, NewApiKey

router = APIRouter()


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    responses={400: PROBLEM, 401: PROBLEM, 403: PROBLEM},
    summary="Create a personal API key; the key is shown once",
)
async def create_key(
    request: Request, body: NewApiKey, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_auth(
        request, "/api-keys", stream_body=True, authorization=caller.authorization
    )


@router.get(
    "/api-keys",
    response_model=ApiKeyList,
    responses={401: PROBLEM, 403: PROBLEM},
    summary="The caller's API keys",
)
async def list_keys(request: Request, caller: GatewayCaller, upstream: UpstreamDep) -> Response:
    return await upstream.to_auth(request, "/api-keys", authorization=caller.authorization)


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    responses={**ERRORS, 403: PROBLEM},
    summary="Revoke one of the caller's API keys",
)
async def revoke_key(
    request: Request, key_id: str, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    path = f"/api-keys/{quote(key_id, safe='')}"
    return await upstream.to_auth(request, path, authorization=caller.authorization)
