"""Running a role under uvicorn: the public app and the ops app on two listeners, one lifespan."""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from mp3converter.api.routes import ops
from mp3converter.config import Settings
from mp3converter.web.metrics import MetricsMiddleware
from mp3converter.web.oauth_errors import install_oauth_errors
from mp3converter.web.problems import document_problems, install_problem_handlers
from mp3converter.web.security_headers import SecurityHeadersMiddleware
from mp3converter.web.tracing import TracingMiddleware

GRACEFUL_SECONDS = 30
# An idle connection stays open longer than any client in front keeps it (the gateway's pool, an
# NGINX upstream's 60 s): the client always closes first, so a request never meets a connection
# the server has just closed (uvicorn's 5 s default raced the gateway's own 5 s).
KEEP_ALIVE_SECONDS = 75


def finish_app(app: FastAPI, role: str) -> FastAPI:
    """Add what every role's public app has: problem+json errors, headers, request metrics,
    and (outermost) a trace span and a log scope per request."""
    install_problem_handlers(app)
    install_oauth_errors(app)
    document_problems(app)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, role=role)
    app.add_middleware(TracingMiddleware)
    return app


def ops_app() -> FastAPI:
    """/healthz, /readyz and /metrics, for the ops listener only."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(ops.router)
    install_problem_handlers(app)
    return app


class ByListener:
    """Sends requests that arrive on the ops port to the ops app, all others to the public app.

    The public app gets the lifespan events; uvicorn hands its state to both apps' requests.
    """

    def __init__(self, public: ASGIApp, operations: ASGIApp, ops_port: int) -> None:
        self.public = public
        self.operations = operations
        self.ops_port = ops_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch on the local port the connection came in on."""
        server = scope.get("server")
        if scope["type"] != "lifespan" and server is not None and server[1] == self.ops_port:
            await self.operations(scope, receive, send)
        else:
            await self.public(scope, receive, send)


def _listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def serve(app: FastAPI, settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn runs the lifespan that opens and closes resources."""
    public_port, ops_port = settings.listen_port, settings.listen_ops_port
    config = uvicorn.Config(
        ByListener(app, ops_app(), ops_port),
        # uvicorn's own lines go through the root handler, in the role's format (logs.py).
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    sockets = [_listener(settings.http_host, public_port), _listener(settings.http_host, ops_port)]
    uvicorn.Server(config).run(sockets=sockets)
