"""OpenAPI response documentation shared by the gateway's routers."""

from __future__ import annotations

from typing import Any

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
# Every route that takes a bearer token and names a job.
ERRORS: dict[int | str, dict[str, Any]] = {401: PROBLEM, 404: PROBLEM}
# The OAuth2 endpoints' own error shape (RFC 6749 section 5.2).
OAUTH_ERROR: dict[str, Any] = {
    "description": "OAuth 2.0 error",
    "x-error-shape": "oauth",  # document_problems leaves these as they are
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "error_description": {"type": "string"},
                },
            }
        }
    },
}
