"""Running an ASGI app under uvicorn with the role's port and graceful shutdown."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from mp3converter.config import Settings
from mp3converter.web.ops import MetricsMiddleware
from mp3converter.web.problems import document_problems, install_problem_handlers

GRACEFUL_SECONDS = 30


def finish_app(app: FastAPI, role: str) -> FastAPI:
    """Add what every role's app has: problem+json errors and request metrics."""
    install_problem_handlers(app)
    document_problems(app)
    app.add_middleware(MetricsMiddleware, role=role)
    return app


def serve(app: FastAPI, settings: Settings, default_port: int) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn runs the lifespan that opens and closes resources."""
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port or default_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        proxy_headers=False,
    )
    uvicorn.Server(config).run()
