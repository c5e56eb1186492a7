"""HTTP Range requests (RFC 9110 section 14) for a single byte range."""

from __future__ import annotations

import re

_SINGLE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ValueError):
    """The range lies outside the representation."""


def parse_range(header: str | None, length: int) -> tuple[int, int] | None:
    """(start, end inclusive) of the requested range, None to send everything."""
    if not header:
        return None
    match = _SINGLE.match(header.replace(" ", ""))
    if match is None:
        return None  # multiple or unknown ranges: answering 200 with the whole body is allowed
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or length == 0:
            raise RangeNotSatisfiable(header)
        return max(length - suffix, 0), length - 1
    start = int(first)
    end = int(last) if last else length - 1
    if start >= length or (last and int(last) < start):
        raise RangeNotSatisfiable(header)
    return start, min(end, length - 1)
