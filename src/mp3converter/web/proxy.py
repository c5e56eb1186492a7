"""Streaming reverse proxying: request and response bodies pass through without buffering."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.background import BackgroundTask

from mp3converter.tracing import inject, tracer
from mp3converter.web.problems import Problem

log = logging.getLogger(__name__)
# httpcore reads an upstream body 64 KiB at a time, and each read is one trip through the ASGI
# stack; larger reads take what the socket holds (up to 1 MiB) in one trip.
PROXY_READ_BYTES = 1024 * 1024
httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = PROXY_READ_BYTES
# Hop-by-hop headers (RFC 9110 section 7.6.1) and ones the proxy recomputes are not forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
FORWARD_RESPONSE = (
    "content-type",
    "content-length",
    "content-range",
    "content-disposition",
    "accept-ranges",
    "etag",
    "location",
    "www-authenticate",
    "retry-after",
    "cache-control",
    "x-accel-buffering",  # event streams ask NGINX not to buffer them
    "idempotent-replayed",  # an upload answered from its Idempotency-Key
)


async def forward(
    http: httpx.AsyncClient,
    request: Request,
    base: str,
    path: str,
    *,
    stream_body: bool,
    authorization: str | None = None,
) -> Response:
    """Send the request to base+path and stream the answer back; 503 if upstream is away.

    `authorization` replaces the client's Authorization header (an API key the gateway traded
    for an access token); the client's X-Forwarded-For is replaced by the address it came from,
    its trace headers by those of this hop's client span (ended once the answer has streamed).
    """
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "x-forwarded-for"
    }
    if authorization is not None:
        headers["authorization"] = authorization
    if stream_body and "content-length" in request.headers:
        headers["content-length"] = request.headers["content-length"]
    if request.client is not None:
        headers["x-forwarded-for"] = request.client.host
    span = tracer().start_span(
        f"{request.method} {base}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": request.method, "url.full": f"{base}{path}"},
    )
    inject(headers, trace.set_span_in_context(span))
    upstream_request = http.build_request(
        request.method,
        f"{base}{path}",
        params=request.query_params,
        headers=headers,
        content=request.stream() if stream_body else None,
    )
    try:
        upstream = await http.send(upstream_request, stream=True)
    except BaseException as exc:  # the span ends with the error, whatever it is
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.end()
        if isinstance(exc, httpx.HTTPError):
            log.warning("upstream %s unreachable: %s", base, exc)
            raise Problem(
                503,
                "upstream-unavailable",
                "a service is unavailable; retry later",
                headers={"Retry-After": "5"},
            ) from exc
        raise
    span.set_attribute("http.response.status_code", upstream.status_code)
    out = {k: v for k in FORWARD_RESPONSE if (v := upstream.headers.get(k)) is not None}
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=out,
        background=BackgroundTask(_close, upstream, span),
    )


async def _close(upstream: httpx.Response, span: Span) -> None:
    try:
        await upstream.aclose()
    finally:
        span.end()


@dataclass(frozen=True)
class Upstream:
    """The internal roles the gateway forwards to, over one pooled HTTP client."""

    http: httpx.AsyncClient
    auth_url: str
    upload_url: str
    notification_url: str

    async def to_auth(self, request: Request, path: str, **options: Any) -> Response:
        """Forward to the auth role (options: stream_body, authorization; see forward)."""
        return await self._to(self.auth_url, request, path, **options)

    async def to_upload(self, request: Request, path: str, **options: Any) -> Response:
        """Forward to the upload role (options: stream_body, authorization; see forward)."""
        return await self._to(self.upload_url, request, path, **options)

    async def to_notification(self, request: Request, path: str, **options: Any) -> Response:
        """Forward to the notification role (webhooks; options as for to_auth)."""
        return await self._to(self.notification_url, request, path, **options)

    async def _to(
        self,
        base: str,
        request: Request,
        path: str,
        *,
        stream_body: bool = False,
        authorization: str | None = None,
    ) -> Response:
        return await forward(
            self.http, request, base, path, stream_body=stream_body, authorization=authorization
        )

    async def ready(self, base: str) -> None:
        """Raise unless the role at base answers HTTP (its own readiness is on its ops port)."""
        response = await self.http.get(f"{base}/", timeout=3.0)
        if response.status_code >= 500:
            response.raise_for_status()
