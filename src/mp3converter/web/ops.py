"""Operational endpoints every role serves: /healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mp3converter.adapters.mongo import ping
from mp3converter.web.problems import MEDIA_TYPE

Check = Callable[[], Awaitable[object]]
READY_TIMEOUT_SECONDS = 3.0

REQUESTS = Counter(
    "mp3converter_http_requests_total",
    "HTTP requests answered",
    ["role", "method", "route", "status"],
)
LATENCY = Histogram(
    "mp3converter_http_request_seconds", "Time to the response start", ["role", "method", "route"]
)


def ops_router(role: str, checks: Callable[[], Mapping[str, Check]]) -> APIRouter:
    """Health, readiness (running each dependency check) and Prometheus metrics."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "role": role}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks().items():
            try:
                await asyncio.wait_for(check(), READY_TIMEOUT_SECONDS)
                results[name] = "ok"
            except Exception as exc:  # any failure means not ready; report which
                results[name] = f"failing: {type(exc).__name__}"
        ready = all(value == "ok" for value in results.values())
        if ready:
            return JSONResponse({"status": "ready", "role": role, "checks": results})
        return JSONResponse(
            {
                "type": "https://mp3converter.com/problems/not-ready",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "a dependency is failing",
                "checks": results,
            },
            status_code=503,
            media_type=MEDIA_TYPE,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def store_and_broker_checks(app: FastAPI) -> Mapping[str, Check]:
    """Readiness of a role that uses MongoDB (app.state.db) and RabbitMQ (app.state.broker)."""
    return {"mongodb": lambda: ping(app.state.db), "rabbitmq": app.state.broker.check}


class MetricsMiddleware:
    """Counts requests and times them, labelled by route template (bounded cardinality)."""

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
