"""Signing in: POST /login (HTTP Basic), the OAuth2 token and revocation endpoints, the JWKS."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request

from mp3converter.adapters.passwords import HashingBusy
from mp3converter.adapters.refresh_tokens import InvalidGrant
from mp3converter.api.deps import ClientAddress, IssuerDep, SessionsDep
from mp3converter.api.schemas import TokenResponse
from mp3converter.usecases.sessions import (
    AccountDisabled,
    BadCredentials,
    LoginThrottled,
    Sessions,
    TokenPair,
)
from mp3converter.web.basic_auth import CHALLENGE, basic_credentials
from mp3converter.web.oauth_errors import OAuthError
from mp3converter.web.problems import Problem

router = APIRouter()
BUSY_RETRY_AFTER = "1"


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
    )


@router.post("/login", response_model=TokenResponse)
async def login(request: Request, sessions: SessionsDep, client: ClientAddress) -> TokenResponse:
    credentials = basic_credentials(request.headers.get("authorization"))
    challenge = {"WWW-Authenticate": CHALLENGE}
    if credentials is None:
        raise Problem(
            401, "invalid-credentials", "HTTP Basic credentials required", headers=challenge
        )
    try:
        return _tokens(await sessions.password_login(*credentials, client))
    except LoginThrottled as exc:
        raise Problem(
            429, "login-throttled", str(exc), headers={"Retry-After": str(exc.retry_after)}
        ) from exc
    except BadCredentials as exc:
        raise Problem(
            401, "invalid-credentials", "email or password is wrong", headers=challenge
        ) from exc
    except AccountDisabled as exc:
        raise Problem(403, "account-disabled", "this account is disabled") from exc
    except HashingBusy as exc:
        raise Problem(503, "busy", str(exc), headers={"Retry-After": BUSY_RETRY_AFTER}) from exc


@router.post("/token", response_model=TokenResponse)
async def token(
    sessions: SessionsDep,
    client: ClientAddress,
    grant_type: Annotated[str | None, Form()] = None,
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    refresh_token: Annotated[str | None, Form()] = None,
) -> TokenResponse:
    if grant_type == "password":
        if username is None or password is None:
            raise OAuthError(400, "invalid_request", "username and password are required")
        return _tokens(await _password_grant(sessions, username, password, client))
    if grant_type == "refresh_token":
        if refresh_token is None:
            raise OAuthError(400, "invalid_request", "refresh_token is required")
        try:
            return _tokens(await sessions.refresh(refresh_token))
        except InvalidGrant as exc:
            raise OAuthError(400, "invalid_grant", str(exc)) from exc
    if grant_type is None:
        raise OAuthError(400, "invalid_request", "grant_type is required")
    raise OAuthError(400, "unsupported_grant_type", "use password or refresh_token")


async def _password_grant(
    sessions: Sessions, username: str, password: str, client: str
) -> TokenPair:
    try:
        return await sessions.password_login(username, password, client)
    except LoginThrottled as exc:
        retry = {"Retry-After": str(exc.retry_after)}
        raise OAuthError(429, "temporarily_unavailable", str(exc), retry) from exc
    except (BadCredentials, AccountDisabled) as exc:
        raise OAuthError(
            400, "invalid_grant", "email or password is wrong, or the account is disabled"
        ) from exc
    except HashingBusy as exc:
        retry = {"Retry-After": BUSY_RETRY_AFTER}
        raise OAuthError(503, "temporarily_unavailable", str(exc), retry) from exc


@router.post("/revoke", status_code=200, response_model=dict[str, str])
async def revoke(
    sessions: SessionsDep,
    token: Annotated[str | None, Form()] = None,
    token_type_hint: Annotated[str | None, Form()] = None,
) -> dict[str, str]:
    if token is None:
        raise OAuthError(400, "invalid_request", "token is required")
    # RFC 7009: 200 whether or not the token was valid; access tokens are short and not tracked.
    await sessions.revoke(token)
    return {}


@router.get("/.well-known/jwks.json")
async def jwks(issuer: IssuerDep) -> dict[str, Any]:
    return issuer.jwks()
