"""The gateway: the only public entry. Checks tokens locally and streams to auth and upload."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from mp3converter.adapters.token_verifier import JwksKeys, TokenVerifier
from mp3converter.config import Settings
from mp3converter.services.account_views import NewUser, TokenResponse, UserOut
from mp3converter.services.job_views import JobAccepted, JobList, JobOut, PageLimit, PageOffset
from mp3converter.web.bearer import CurrentPrincipal
from mp3converter.web.multipart_stream import ENVELOPE_BYTES
from mp3converter.web.ops import Check, ops_router
from mp3converter.web.problems import Problem
from mp3converter.web.proxy import forward
from mp3converter.web.server import finish_app

log = logging.getLogger(__name__)
ROLE = "gateway"
DEFAULT_PORT = 8080
TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=300.0, pool=10.0)
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
ERRORS: dict[int | str, dict[str, Any]] = {401: PROBLEM, 404: PROBLEM}


def create_app(settings: Settings) -> FastAPI:
    """Build the gateway app; the HTTP client and JWKS cache open in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            app.state.http = http
            app.state.verifier = TokenVerifier(
                JwksKeys(
                    http, f"{settings.auth_url}/.well-known/jwks.json", settings.jwks_cache_seconds
                ),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
            )
            yield

    app = FastAPI(
        title="mp3converter",
        summary="Upload videos, get MP3s back.",
        version="1",
        lifespan=lifespan,
    )

    async def upstream_ready(base: str) -> None:
        response = await app.state.http.get(f"{base}/readyz", timeout=3.0)
        response.raise_for_status()

    def checks() -> Mapping[str, Check]:
        return {
            "auth": lambda: upstream_ready(settings.auth_url),
            "upload": lambda: upstream_ready(settings.upload_url),
        }

    app.include_router(ops_router(ROLE, checks))

    @app.post(
        "/login",
        response_model=TokenResponse,
        responses={401: PROBLEM},
        summary="Exchange HTTP Basic credentials for a bearer token",
    )
    async def login(request: Request) -> Response:
        return await forward(
            request.app.state.http, request, settings.auth_url, "/login", stream_body=False
        )

    @app.post(
        "/users",
        status_code=201,
        response_model=UserOut,
        responses={400: PROBLEM, 401: PROBLEM, 403: PROBLEM, 409: PROBLEM},
        summary="Create a user (admin only)",
    )
    async def create_user(request: Request, body: NewUser, caller: CurrentPrincipal) -> Response:
        if not caller.is_admin:
            raise Problem(403, "forbidden", "only an admin can create users")
        return await forward(
            request.app.state.http, request, settings.auth_url, "/users", stream_body=True
        )

    @app.post(
        "/upload",
        status_code=202,
        response_model=JobAccepted,
        responses={
            400: PROBLEM,
            401: PROBLEM,
            413: PROBLEM,
            415: PROBLEM,
            422: PROBLEM,
            503: PROBLEM,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary", "minLength": 1}
                            },
                        }
                    }
                },
            }
        },
        summary="Upload a video (multipart field `file`); the body is streamed through",
    )
    async def upload(request: Request, caller: CurrentPrincipal) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_upload_bytes + ENVELOPE_BYTES:
            raise Problem(
                413,
                "upload-too-large",
                f"the file exceeds the limit of {settings.max_upload_bytes} bytes",
                max_bytes=settings.max_upload_bytes,
            )
        return await forward(
            request.app.state.http, request, settings.upload_url, "/upload", stream_body=True
        )

    @app.get("/jobs", response_model=JobList, responses=ERRORS, summary="The caller's jobs")
    async def list_jobs(
        request: Request,
        caller: CurrentPrincipal,
        limit: PageLimit = 50,
        offset: PageOffset = 0,
    ) -> Response:
        return await forward(
            request.app.state.http, request, settings.upload_url, "/jobs", stream_body=False
        )

    @app.get("/jobs/{job_id}", response_model=JobOut, responses=ERRORS, summary="One job")
    async def get_job(request: Request, job_id: str, caller: CurrentPrincipal) -> Response:
        return await forward(
            request.app.state.http,
            request,
            settings.upload_url,
            f"/jobs/{quote(job_id, safe='')}",
            stream_body=False,
        )

    @app.get(
        "/download/{job_id}",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"audio/mpeg": {}}},
            206: {"content": {"audio/mpeg": {}}},
            409: PROBLEM,
            416: PROBLEM,
            **ERRORS,
        },
        summary="The MP3 of a done job (supports Range)",
    )
    async def download(request: Request, job_id: str, caller: CurrentPrincipal) -> Response:
        return await forward(
            request.app.state.http,
            request,
            settings.upload_url,
            f"/download/{quote(job_id, safe='')}",
            stream_body=False,
        )

    return finish_app(app, ROLE)
