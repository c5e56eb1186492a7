"""Readiness runs every dependency check and names the failing ones; metrics count requests."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from mp3converter.api.routes import ops
from mp3converter.web import readiness
from mp3converter.web.metrics import MetricsMiddleware
from mp3converter.web.readiness import Checks
from tests.inprocess import client_of, with_state


def _app(checks: Checks) -> FastAPI:
    app = FastAPI()
    app.include_router(ops.router)
    app.add_middleware(MetricsMiddleware, role="unit")
    return app


async def _get(app: FastAPI, path: str, checks: Checks) -> httpx.Response:
    async with client_of(with_state(app, {"role": "unit", "checks": checks})) as client:
        return await client.get(path)


async def _ok() -> None:
    return None


async def _down() -> None:
    raise ConnectionError("refused")


async def _hangs() -> None:
    await asyncio.sleep(3600)


async def test_ready_when_every_check_passes() -> None:
    checks = {"db": _ok, "broker": _ok}
    response = await _get(_app(checks), "/readyz", checks)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "role": "unit",
        "checks": {"db": "ok", "broker": "ok"},
    }


async def test_not_ready_names_the_failing_dependency() -> None:
    checks = {"db": _ok, "broker": _down}
    response = await _get(_app(checks), "/readyz", checks)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["checks"] == {"db": "ok", "broker": "failing: ConnectionError"}
    assert body["type"] == "https://mp3converter.com/problems/not-ready"


async def test_a_hanging_check_counts_as_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readiness, "READY_TIMEOUT_SECONDS", 0.05)
    checks = {"db": _hangs}
    response = await _get(_app(checks), "/readyz", checks)
    assert response.status_code == 503
    assert response.json()["checks"]["db"] == "failing: TimeoutError"


async def test_metrics_count_requests_by_route_template() -> None:
    checks = {"db": _ok}
    app = _app(checks)
    await _get(app, "/healthz", checks)
    body = (await _get(app, "/metrics", checks)).text
    assert (
        'mp3converter_http_requests_total{method="GET",role="unit",route="/healthz",status="200"}'
        in body
    )
