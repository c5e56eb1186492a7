"""Typed dependencies: what a role's lifespan opened, handed to its routes.

A role's lifespan yields a `RoleState`; Starlette gives every request a copy as `request.state`.
Routes never read state themselves: they ask for `JobsDep`, `CurrentPrincipal`, ... here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict, cast

import httpx
from fastapi import Depends, Request

from mp3converter.adapters.api_keys import looks_like_key
from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.jwt_keys import TokenIssuer
from mp3converter.adapters.revocations import RevocationList, Revocations, RevocationStore
from mp3converter.adapters.token_verifier import Principal, TokenVerifier
from mp3converter.adapters.upload_keys import UploadKeys
from mp3converter.adapters.user_store import UserStore
from mp3converter.config import Settings
from mp3converter.domain.download_links import DownloadLinks, LinkClaims, LinkRefusal
from mp3converter.log_context import bind
from mp3converter.usecases.accounts import Accounts
from mp3converter.usecases.api_keys import ApiKeys
from mp3converter.usecases.live import LiveJobs
from mp3converter.usecases.sessions import Sessions
from mp3converter.usecases.uploads import Uploads
from mp3converter.usecases.webhooks import Webhooks
from mp3converter.web.bearer import authenticate, bearer_token, unauthorized, verify_bearer
from mp3converter.web.content_length import declared_length
from mp3converter.web.key_exchange import KeyExchange
from mp3converter.web.multipart_stream import ENVELOPE_BYTES
from mp3converter.web.problems import Problem
from mp3converter.web.proxy import Upstream
from mp3converter.web.readiness import Checks


class RoleState(TypedDict, total=False):
    """Everything a role may provide to its routes; each role fills in what it has."""

    role: str
    settings: Settings
    checks: Checks
    verifier: TokenVerifier
    jobs: JobStore
    videos: GridFSStore
    mp3s: GridFSStore
    uploads: Uploads
    users: UserStore
    issuer: TokenIssuer
    sessions: Sessions
    accounts: Accounts
    api_keys: ApiKeys
    revocations: RevocationStore
    links: DownloadLinks
    revocation_list: RevocationList
    upstream: Upstream
    key_exchange: KeyExchange
    webhooks: Webhooks
    live: LiveJobs
    upload_keys: UploadKeys


def _provided(request: Request, key: str) -> Any:
    try:
        return getattr(request.state, key)
    except AttributeError as exc:
        raise RuntimeError(f"this role's lifespan provides no {key!r}") from exc


def _role(request: Request) -> str:
    return cast(str, _provided(request, "role"))


def _settings(request: Request) -> Settings:
    return cast(Settings, _provided(request, "settings"))


def _checks(request: Request) -> Checks:
    return cast(Checks, _provided(request, "checks"))


def _verifier(request: Request) -> TokenVerifier:
    return cast(TokenVerifier, _provided(request, "verifier"))


def _jobs(request: Request) -> JobStore:
    return cast(JobStore, _provided(request, "jobs"))


def _videos(request: Request) -> GridFSStore:
    return cast(GridFSStore, _provided(request, "videos"))


def _mp3s(request: Request) -> GridFSStore:
    return cast(GridFSStore, _provided(request, "mp3s"))


def _uploads(request: Request) -> Uploads:
    return cast(Uploads, _provided(request, "uploads"))


def _users(request: Request) -> UserStore:
    return cast(UserStore, _provided(request, "users"))


def _issuer(request: Request) -> TokenIssuer:
    return cast(TokenIssuer, _provided(request, "issuer"))


def _upstream(request: Request) -> Upstream:
    return cast(Upstream, _provided(request, "upstream"))


def _sessions(request: Request) -> Sessions:
    return cast(Sessions, _provided(request, "sessions"))


def _accounts(request: Request) -> Accounts:
    return cast(Accounts, _provided(request, "accounts"))


def _api_keys(request: Request) -> ApiKeys:
    return cast(ApiKeys, _provided(request, "api_keys"))


def _revocations(request: Request) -> RevocationStore:
    return cast(RevocationStore, _provided(request, "revocations"))


def _links(request: Request) -> DownloadLinks:
    return cast(DownloadLinks, _provided(request, "links"))


def _revocation_list(request: Request) -> RevocationList:
    return cast(RevocationList, _provided(request, "revocation_list"))


def _key_exchange(request: Request) -> KeyExchange:
    return cast(KeyExchange, _provided(request, "key_exchange"))


def _upload_keys(request: Request) -> UploadKeys:
    return cast(UploadKeys, _provided(request, "upload_keys"))


def _live(request: Request) -> LiveJobs:
    return cast(LiveJobs, _provided(request, "live"))


def _webhooks(request: Request) -> Webhooks:
    return cast(Webhooks, _provided(request, "webhooks"))


def client_address(request: Request) -> str:
    """The caller's address: the gateway's X-Forwarded-For behind it, else the peer."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded:
        return forwarded.split(",")[-1].strip()[:64]
    return request.client.host if request.client else "unknown"


RoleName = Annotated[str, Depends(_role)]
VerifierDep = Annotated[TokenVerifier, Depends(_verifier)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ChecksDep = Annotated[Checks, Depends(_checks)]
JobsDep = Annotated[JobStore, Depends(_jobs)]
VideosDep = Annotated[GridFSStore, Depends(_videos)]
Mp3sDep = Annotated[GridFSStore, Depends(_mp3s)]
UploadsDep = Annotated[Uploads, Depends(_uploads)]
UsersDep = Annotated[UserStore, Depends(_users)]
IssuerDep = Annotated[TokenIssuer, Depends(_issuer)]
UpstreamDep = Annotated[Upstream, Depends(_upstream)]
SessionsDep = Annotated[Sessions, Depends(_sessions)]
AccountsDep = Annotated[Accounts, Depends(_accounts)]
ApiKeysDep = Annotated[ApiKeys, Depends(_api_keys)]
RevocationsDep = Annotated[RevocationStore, Depends(_revocations)]
LinksDep = Annotated[DownloadLinks, Depends(_links)]
RevocationListDep = Annotated[RevocationList, Depends(_revocation_list)]
KeyExchangeDep = Annotated[KeyExchange, Depends(_key_exchange)]
ClientAddress = Annotated[str, Depends(client_address)]
WebhooksDep = Annotated[Webhooks, Depends(_webhooks)]
LiveDep = Annotated[LiveJobs, Depends(_live)]
UploadKeysDep = Annotated[UploadKeys, Depends(_upload_keys)]


async def _current_principal(
    request: Request, verifier: Annotated[TokenVerifier, Depends(_verifier)]
) -> Principal:
    principal = await authenticate(verifier, request)
    bind(user_id=principal.user_id)  # every later line of this request names the caller
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]


@dataclass(frozen=True)
class Caller:
    """Who called the gateway, and the Authorization header to forward for them."""

    principal: Principal
    authorization: str


async def _gateway_caller(
    request: Request, verifier: VerifierDep, exchange: KeyExchangeDep
) -> Caller:
    caller = await resolve_caller(request, verifier, exchange)
    bind(user_id=caller.principal.user_id)
    return caller


async def resolve_caller(
    request: Request, verifier: TokenVerifier, exchange: KeyExchange
) -> Caller:
    """The caller of a gateway request: its access token, or the one its API key is traded for."""
    token = bearer_token(request)
    if looks_like_key(token):
        try:
            exchanged = await exchange.token_for(token)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise Problem(503, "auth-unavailable", "cannot check API keys right now") from exc
        if exchanged is None:
            raise unauthorized("invalid, revoked or expired API key")
        token = exchanged
    return Caller(await verify_bearer(verifier, token), f"Bearer {token}")


# The gateway's caller: a bearer access token, or a personal API key traded for one.
GatewayCaller = Annotated[Caller, Depends(_gateway_caller)]


def upload_too_large(limit: int) -> Problem:
    """The answer to an upload larger than MAX_UPLOAD_BYTES."""
    return Problem(
        413, "upload-too-large", f"the file exceeds the limit of {limit} bytes", max_bytes=limit
    )


def _declared_upload_size(request: Request, settings: SettingsDep) -> int | None:
    declared = declared_length(request.headers.get("content-length"))
    # Headroom for the multipart envelope around the file.
    if declared is not None and declared > settings.max_upload_bytes + ENVELOPE_BYTES:
        raise upload_too_large(settings.max_upload_bytes)
    return declared


# The Content-Length of an upload, refused with 413 before reading when it is too large.
DeclaredUploadSize = Annotated[int | None, Depends(_declared_upload_size)]


LINK_PARAMETERS = ("u", "e", "k", "s")


async def signed_link_owner(
    request: Request, job_id: str, links: DownloadLinks, revocations: Revocations
) -> str | None:
    """The owner a signed download link grants the job to; None if the request carries no link.

    A tampered or revoked link is 403, an expired one 410: problem+json, never a byte of MP3.
    """
    query = dict(request.query_params)
    if not any(name in query for name in LINK_PARAMETERS):
        return None
    claims = LinkClaims.from_query(query)
    if claims is None:
        raise Problem(403, "invalid-link", "the download link is incomplete or malformed")
    refusal = links.signer.check(job_id, claims, int(time.time()))
    if refusal is LinkRefusal.EXPIRED:
        raise Problem(410, "link-expired", "the download link has expired; get a new one")
    if refusal is not None:
        raise Problem(403, "invalid-link", "the download link is not valid")
    if await revocations.voids(claims.owner_id, links.issued_at(claims)):
        raise Problem(403, "invalid-link", "the download link is no longer valid")
    bind(user_id=claims.owner_id)
    return claims.owner_id
