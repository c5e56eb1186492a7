"""MP3 downloads, streamed through from the upload role: with a bearer token or a signed link."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from mp3converter.api.deps import (
    KeyExchangeDep,
    LinksDep,
    RevocationListDep,
    UpstreamDep,
    VerifierDep,
    resolve_caller,
    signed_link_owner,
)
from mp3converter.api.gateway.responses import ERRORS, PROBLEM

router = APIRouter()
MP3: dict[str, Any] = {"content": {"audio/mpeg": {}}}


@router.get(
    "/download/{job_id}",
    response_class=StreamingResponse,
    responses={
        200: MP3,
        206: MP3,
        403: PROBLEM,
        409: PROBLEM,
        410: PROBLEM,
        416: PROBLEM,
        **ERRORS,
    },
    summary="The MP3 of a done job (supports Range), with a bearer token or a signed link",
    description="A signed link (`download_link` of a job, `?u=&e=&k=&s=`) needs no header. "
    "A tampered or revoked link is 403, an expired one 410.",
)
async def download(
    request: Request,
    job_id: str,
    upstream: UpstreamDep,
    links: LinksDep,
    revoked: RevocationListDep,
    verifier: VerifierDep,
    exchange: KeyExchangeDep,
) -> Response:
    path = f"/download/{quote(job_id, safe='')}"
    if await signed_link_owner(request, job_id, links, revoked) is not None:
        return await upstream.to_upload(request, path)  # upload checks the link again
    caller = await resolve_caller(request, verifier, exchange)
    return await upstream.to_upload(request, path, authorization=caller.authorization)
