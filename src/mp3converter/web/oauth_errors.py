"""OAuth 2.0 error responses (RFC 6749 section 5.2): the token and revocation endpoints' shape."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An error of an OAuth endpoint: `{"error": ..., "error_description": ...}`."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


def install_oauth_errors(app: FastAPI) -> None:
    """Answer OAuthError in OAuth's JSON shape, never cached."""

    async def on_oauth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OAuthError)
        return JSONResponse(
            {"error": exc.error, "error_description": exc.description},
            status_code=exc.status,
            headers={**NO_STORE, **exc.headers},
        )

    app.add_exception_handler(OAuthError, on_oauth_error)
