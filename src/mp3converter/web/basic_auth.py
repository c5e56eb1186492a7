"""HTTP Basic credentials (RFC 7617) decoded as UTF-8, so any valid password can sign in."""

from __future__ import annotations

import base64
import binascii

CHALLENGE = 'Basic realm="mp3converter", charset="UTF-8"'


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user id, password) of an `Authorization: Basic` header, or None if absent or malformed."""
    if not header:
        return None
    scheme, _, param = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
