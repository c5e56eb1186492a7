"""Operational endpoints every role serves: /healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mp3converter.api.deps import ChecksDep, RoleName
from mp3converter.web.problems import problem_response
from mp3converter.web.readiness import run_checks

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz(role: RoleName) -> dict[str, str]:
    return {"status": "ok", "role": role}


@router.get("/readyz")
async def readyz(role: RoleName, checks: ChecksDep) -> JSONResponse:
    results = await run_checks(checks)
    if all(value == "ok" for value in results.values()):
        return JSONResponse({"status": "ready", "role": role, "checks": results})
    return problem_response(503, "not-ready", "a dependency is failing", checks=results)


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
