"""Readiness runs every dependency check and names the failing ones."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
import pytest
from fastapi import FastAPI

from mp3converter.web import ops
from mp3converter.web.ops import Check, MetricsMiddleware, ops_router


def _app(checks: Mapping[str, Check]) -> FastAPI:
    app = FastAPI()
    app.include_router(ops_router("unit", lambda: checks))
    app.add_middleware(MetricsMiddleware, role="unit")
    return app


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        return await client.get(path)


async def _ok() -> None:
    return None


async def _down() -> None:
    raise ConnectionError("refused")


async def _hangs() -> None:
    await asyncio.sleep(3600)


async def test_ready_when_every_check_passes() -> None:
    response = await _get(_app({"db": _ok, "broker": _ok}), "/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"db": "ok", "broker": "ok"}


async def test_not_ready_names_the_failing_dependency() -> None:
    response = await _get(_app({"db": _ok, "broker": _down}), "/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["checks"] == {"db": "ok", "broker": "failing: ConnectionError"}


async def test_a_hanging_check_counts_as_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "READY_TIMEOUT_SECONDS", 0.05)
    response = await _get(_app({"db": _hangs}), "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["db"] == "failing: TimeoutError"


async def test_metrics_count_requests_by_route_template() -> None:
    app = _app({"db": _ok})
    await _get(app, "/healthz")
    body = (await _get(app, "/metrics")).text
    assert (
        'mp3converter_http_requests_total{method="GET",role="unit",route="/healthz",status="200"}'
        in body
    )
