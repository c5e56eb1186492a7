"""HTTP Range requests (RFC 9110 section 14) for a single byte range."""

from __future__ import annotations

import re

from mp3converter.web.content_length import declared_length

# ASCII digits only: `\d` would also accept other scripts' digits.
_SINGLE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
_MAX_HEADER = 200  # a single byte range is short; anything longer is not one


class RangeNotSatisfiable(ValueError):
    """The range lies outside the representation."""


def parse_range(header: str | None, length: int) -> tuple[int, int] | None:
    """(start, end inclusive) of the requested range, None to send everything."""
    if not header or len(header) > _MAX_HEADER:
        return None  # multiple or unknown ranges: answering 200 with the whole body is allowed
    match = _SINGLE.match(header.replace(" ", ""))
    if match is None:
        return None
    # Numbers of any length are read as at most HUGE, which is past the end of any file.
    first, last = (declared_length(group) for group in match.groups())
    if first is None and last is None:
        return None
    if first is None:
        assert last is not None
        if last == 0 or length == 0:
            raise RangeNotSatisfiable(header)
        return max(length - last, 0), length - 1
    if first >= length or (last is not None and last < first):
        raise RangeNotSatisfiable(header)
    end = length - 1 if last is None else min(last, length - 1)
    return first, end
