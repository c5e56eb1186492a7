"""Lengths, sizes and times written as people read them ("4 min 12 s", "3.8 MB")."""

from __future__ import annotations

import math
from datetime import UTC, datetime

SIZE_UNITS = ("kB", "MB", "GB", "TB")
# Spelled out rather than strftime's %a and %b, which follow the process's locale.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_duration(seconds: float) -> str | None:
    """Hours and minutes, or minutes and seconds, or seconds; None if it is not a length."""
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    total = round(seconds)
    if total == 0:
        return "under 1 s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def human_size(size: int) -> str | None:
    """Bytes in SI units (1 MB = 1,000,000 bytes), 3 significant digits; None if not a size."""
    if size <= 0:
        return None
    if size < 1000:
        return "1 byte" if size == 1 else f"{size} bytes"
    value, unit = size / 1000, SIZE_UNITS[0]
    # What would round to 1000 of a unit is written in the next one: 999,600 bytes is "1.0 MB".
    for bigger in SIZE_UNITS[1:]:
        if value < 999.5:
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}" if round(value, 1) < 100 else f"{value:.0f} {unit}"


def human_time(moment: datetime) -> str:
    """A moment in UTC to the minute, e.g. "Tue 4 Jun 2024, 14:05 UTC" (never later than it)."""
    utc = moment.astimezone(UTC)
    day, month = WEEKDAYS[utc.weekday()], MONTHS[utc.month - 1]
    return f"{day} {utc.day} {month} {utc.year}, {utc:%H:%M} UTC"
