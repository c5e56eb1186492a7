"""The Idempotency-Key request header (IETF httpapi draft): what a key is, and how long it lasts.

The draft makes the key a Structured Field string (`"8e03978e-..."`); many clients send it bare,
so a bare token is accepted too. A key names one upload of one user for `KEY_LIFETIME`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

MAX_KEY_LENGTH = 255
KEY_LIFETIME = timedelta(hours=24)
# An upload still marked in flight this long after it began died with its process: the key is
# free again (a live upload renews nothing, so this outlasts the slowest accepted upload).
IN_FLIGHT_LEASE = timedelta(hours=2)
_BARE = re.compile(r"[!#-~]+")  # visible ASCII without '"' and space


class BadIdempotencyKey(ValueError):
    """The header is not a key: empty, too long, or not a string."""


def parse_key(header: str | None) -> str | None:
    """The key of an `Idempotency-Key` header, None without one; BadIdempotencyKey if invalid."""
    if header is None:
        return None
    value = header.strip(" \t")
    if value.startswith('"'):
        key = _sf_string(value)
    elif _BARE.fullmatch(value):
        key = value
    else:
        raise BadIdempotencyKey("Idempotency-Key must be a string of visible ASCII characters")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadIdempotencyKey(f"Idempotency-Key must have 1 to {MAX_KEY_LENGTH} characters")
    return key


def _sf_string(value: str) -> str:
    # RFC 9651 section 4.2.5: printable ASCII between quotes, with \" and \\ escaped.
    out: list[str] = []
    escaped = False
    for index, char in enumerate(value[1:], start=1):
        if not " " <= char <= "~":
            break
        if escaped:
            if char not in '"\\':
                break
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            if index == len(value) - 1:
                return "".join(out)
            break
        else:
            out.append(char)
    raise BadIdempotencyKey("Idempotency-Key is not a valid quoted string")


def record_id(owner_id: str, key: str) -> str:
    """Where one user's key is recorded: keys of different users never meet."""
    return hashlib.sha256(f"{owner_id}\0{key}".encode()).hexdigest()
