"""Request metrics of every role: counts and latency by route template (bounded cardinality)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "mp3converter_http_requests_total",
    "HTTP requests answered",
    ["role", "method", "route", "status"],
)
LATENCY = Histogram(
    "mp3converter_http_request_seconds", "Time to the response start", ["role", "method", "route"]
)


class MetricsMiddleware:
    """Counts requests and times them, labelled by route template."""

    def __init__(self, app: ASGIApp, role: str) -> None:
        self.app = app
        self.role = role

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pure ASGI, so streamed request and response bodies pass through untouched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                route = _route_of(scope)
                LATENCY.labels(self.role, scope["method"], route).observe(
                    time.perf_counter() - start
                )
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            REQUESTS.labels(self.role, scope["method"], _route_of(scope), str(status["code"])).inc()


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))
