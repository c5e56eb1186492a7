"""What goes wrong in the client, and how an error answer of the API reads to a person."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import httpx


def terminal_safe(text: object) -> str:
    """Text from the server or a file name, fit for a terminal: control and format characters
    (escape sequences, bidi overrides) become U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in str(text))


class ClientError(Exception):
    """An error the command reports on stderr and exits non-zero for."""


class NotLoggedIn(ClientError):
    """No stored login."""

    def __init__(self) -> None:
        super().__init__("not logged in: run `mp3converter login --server URL --email EMAIL` first")


class SessionExpired(ClientError):
    """The stored credential no longer works (expired, revoked, or signed out elsewhere)."""

    def __init__(self, server: str, *, api_key: bool = False) -> None:
        what = "the API key was refused (revoked or expired)"
        if not api_key:
            what = "the session has expired or was revoked"
        super().__init__(f"{what}: run `mp3converter login --server {server} --email EMAIL` again")


class ServerUnreachable(ClientError):
    """No answer from the gateway at all."""

    def __init__(self, server: str, cause: Exception) -> None:
        reason = str(cause) or type(cause).__name__
        super().__init__(f"cannot reach the server at {server}: {reason}")


class ApiError(ClientError):
    """An error answer of the API."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}


def api_error(response: httpx.Response) -> ApiError:
    """The answer as `title: detail` (problem+json), `error: description` (OAuth) or its status."""
    body = _json_object(response)
    if "detail" in body or "title" in body:
        title = str(body.get("title") or response.reason_phrase)
        message = f"{title}: {body['detail']}" if body.get("detail") else title
        for error in body.get("errors") or []:  # 422 invalid-options names each field
            if isinstance(error, dict) and str(error.get("msg", "")) not in message:
                loc = error.get("loc") or []
                message += f"\n  {loc[-1] if loc else 'field'}: {error.get('msg', '')}"
    elif "error" in body:
        error = str(body["error"])
        description = body.get("error_description")
        message = f"{error}: {description}" if description else error
    else:
        message = f"{response.status_code} {response.reason_phrase}"
    retry_after = response.headers.get("retry-after")
    if retry_after and retry_after.isdigit():
        message += f" (retry after {retry_after} s)"
    return ApiError(response.status_code, message, body)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
