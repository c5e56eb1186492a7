"""The `Authorization: Bearer` check shared by every role that serves a user."""

from __future__ import annotations

from fastapi import Request

from mp3converter.adapters.token_verifier import (
    InvalidToken,
    KeysUnavailable,
    Principal,
    TokenVerifier,
)
from mp3converter.web.problems import Problem


def unauthorized(detail: str, error: str | None = "invalid_token") -> Problem:
    challenge = 'Bearer realm="mp3converter"'
    if error:
        challenge += f', error="{error}"'
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer` header, or a 401 problem."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise unauthorized("missing bearer token", error=None)
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def authenticate(verifier: TokenVerifier, request: Request) -> Principal:
    """The caller's principal; 401 for a bad token, 503 when the keys cannot be fetched."""
    return await verify_bearer(verifier, bearer_token(request))


async def verify_bearer(verifier: TokenVerifier, token: str) -> Principal:
    """The principal of an access token; 401 if it is not valid, 503 if keys are unavailable."""
    try:
        return await verifier.verify(token)
    except InvalidToken as exc:
        raise unauthorized(str(exc)) from exc
    except KeysUnavailable as exc:
        raise Problem(503, "auth-unavailable", "cannot verify tokens right now") from exc
