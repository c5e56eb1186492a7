"""The `Authorization: Bearer` check shared by every role that serves a user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mp3converter.adapters.token_verifier import (
    InvalidToken,
    KeysUnavailable,
    Principal,
    TokenVerifier,
)
from mp3converter.web.problems import Problem


def _unauthorized(detail: str, error: str | None = "invalid_token") -> Problem:
    challenge = 'Bearer realm="mp3converter"'
    if error:
        challenge += f', error="{error}"'
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer` header, or a 401 problem."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized("missing bearer token", error=None)
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def authenticate(verifier: TokenVerifier, request: Request) -> Principal:
    """The caller's principal; 401 for a bad token, 503 when the keys cannot be fetched."""
    token = bearer_token(request)
    try:
        return await verifier.verify(token)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc
    except KeysUnavailable as exc:
        raise Problem(503, "auth-unavailable", "cannot verify tokens right now") from exc


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller of this request."""
    verifier: TokenVerifier = request.app.state.verifier
    return await authenticate(verifier, request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
