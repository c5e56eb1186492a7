"""Standard Webhooks signatures (the `standardwebhooks` library): secrets and signed headers."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from math import floor

from standardwebhooks import Webhook as Signer

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    """A random signing secret in the spec's form: `whsec_` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signed_headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The headers of one attempt: `webhook-id`, `webhook-timestamp` (at) and its signature."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, at, body),
        "content-type": "application/json",
    }
