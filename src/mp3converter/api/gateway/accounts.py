"""Signing in, forwarded to the auth role: HTTP Basic login and the OAuth2 endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from mp3converter.api.deps import UpstreamDep
from mp3converter.api.gateway.responses import OAUTH_ERROR, PROBLEM
from mp3converter.api.schemas import TokenResponse

router = APIRouter()


def _form(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    # Documented here, not parsed: the form streams through to auth untouched.
    schema = {"type": "object", "required": required, "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


TOKEN_FORM = _form(
    ["grant_type"],
    {
        "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
        "username": {"type": "string", "description": "the email (grant_type=password)"},
        "password": {"type": "string", "format": "password"},
        "refresh_token": {"type": "string", "description": "grant_type=refresh_token"},
    },
)
REVOKE_FORM = _form(
    ["token"],
    {"token": {"type": "string"}, "token_type_hint": {"type": "string"}},
)


@router.post(
    "/login",
    response_model=TokenResponse,
    responses={401: PROBLEM, 403: PROBLEM, 429: PROBLEM, 503: PROBLEM},
    summary="Exchange HTTP Basic credentials (UTF-8) for an access and a refresh token",
)
async def login(request: Request, upstream: UpstreamDep) -> Response:
    return await upstream.to_auth(request, "/login")


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={400: OAUTH_ERROR, 429: OAUTH_ERROR, 503: OAUTH_ERROR},
    openapi_extra=TOKEN_FORM,
    summary="OAuth2 token endpoint (RFC 6749): password and refresh_token grants",
)
async def token(request: Request, upstream: UpstreamDep) -> Response:
    return await upstream.to_auth(request, "/token", stream_body=True)


@router.post(
    "/revoke",
    response_model=dict[str, str],
    responses={
        200: {"description": "Revoked, or the token was unknown (RFC 7009)"},
        400: OAUTH_ERROR,
    },
    openapi_extra=REVOKE_FORM,
    summary="Revoke a refresh token and every token of its login (RFC 7009)",
)
async def revoke(request: Request, upstream: UpstreamDep) -> Response:
    return await upstream.to_auth(request, "/revoke", stream_body=True)
