"""A span and a log scope per request, continuing the caller's W3C trace, and one access line."""

from __future__ import annotations

import logging
import time

from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mp3converter.log_context import log_scope
from mp3converter.tracing import TRACE_HEADERS, extract, tracer

access_log = logging.getLogger("mp3converter.access")


class TracingMiddleware:
    """Pure ASGI (streamed bodies pass through untouched): the request runs inside a server span
    whose parent is the `traceparent` it came with, and in a log scope where handlers bind the
    job and user ids; when the response ends, one access line is logged (path without query:
    signed links carry their signature there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Trace and log one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name.decode("latin-1") in TRACE_HEADERS
        }
        method, path = scope["method"], scope["path"]
        status = {"code": 500}

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        start = time.perf_counter()
        with (
            tracer().start_as_current_span(
                method,
                context=extract(carrier),
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "url.path": path},
            ) as span,
            log_scope() as fields,
        ):
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = str(getattr(scope.get("route"), "path", "unmatched"))
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status["code"])
                if status["code"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                job_id = scope.get("path_params", {}).get("job_id")
                if job_id is not None and "job_id" not in fields:
                    fields["job_id"] = str(job_id)
                access_log.info(
                    "%s %s %d %.1f ms",
                    method,
                    path,
                    status["code"],
                    (time.perf_counter() - start) * 1000,
                    extra={"http_route": route, "http_status": status["code"]},
                )
