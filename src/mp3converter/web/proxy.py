"""Streaming reverse proxying: request and response bodies pass through without buffering."""

from __future__ import annotations

import logging

import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from mp3converter.web.problems import Problem

log = logging.getLogger(__name__)
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
)


async def forward(
    http: httpx.AsyncClient, request: Request, base: str, path: str, *, stream_body: bool
) -> Response:
    """Send the request to base+path and stream the answer back; 503 if upstream is away."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    if stream_body and "content-length" in request.headers:
        headers["content-length"] = request.headers["content-length"]
    if request.client is not None:
        headers["x-forwarded-for"] = request.client.host
    upstream_request = http.build_request(
        request.method,
        f"{base}{path}",
        params=request.query_params,
        headers=headers,
        content=request.stream() if stream_body else None,
    )
    try:
        upstream = await http.send(upstream_request, stream=True)
    except httpx.HTTPError as exc:
        log.warning("upstream %s unreachable: %s", base, exc)
        raise Problem(
            503,
            "upstream-unavailable",
            "a service is unavailable; retry later",
            headers={"Retry-After": "5"},
        ) from exc
    out = {k: v for k in FORWARD_RESPONSE if (v := upstream.headers.get(k)) is not None}
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=out,
        background=BackgroundTask(upstream.aclose),
    )
