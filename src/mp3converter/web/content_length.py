"""The Content-Length a client declared, read without trusting its size."""

from __future__ import annotations

_MAX_DIGITS = 18
HUGE = 10**_MAX_DIGITS  # larger than any limit; stands for any longer number


def declared_length(value: str | None) -> int | None:
    """The declared body length; None when absent or not a plain decimal number."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    digits = value.lstrip("0") or "0"
    return HUGE if len(digits) > _MAX_DIGITS else int(digits)
