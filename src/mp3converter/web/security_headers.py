"""Headers every response carries: no MIME sniffing, no referrer, no caching of credentials."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Responses that carry credentials (tokens, new API keys, webhook secrets) must never be stored
# by a cache.
NO_STORE_PATHS = frozenset({"/login", "/token", "/api-keys", "/webhooks"})


class SecurityHeadersMiddleware:
    """Adds X-Content-Type-Options and Referrer-Policy to every response, and Cache-Control:
    no-store to responses that carry credentials. Pure ASGI: bodies stream through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set the headers on the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"] in NO_STORE_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if no_store:
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)
