"""When a webhook delivery that failed is tried again: a schedule of growing delays, with jitter."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

# The Standard Webhooks reference schedule: a retry after 5 s, then up to 10 h apart; eight
# attempts over about 27.6 hours.
DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h"
UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
# Each delay is drawn from [delay * (1 - JITTER), delay * (1 + JITTER)], so endpoints that all
# failed at once (an outage) are not all retried at the same instant.
JITTER = 0.2


def parse_schedule(text: str) -> tuple[float, ...]:
    """Delays in seconds from "5s,5m,30m,2h" (units ms, s, m, h, d; a bare number is seconds)."""
    delays = []
    for step in text.split(","):
        match = _STEP.match(step)
        if match is None:
            raise ValueError(f"not a delay: {step.strip()!r} (write e.g. 5s, 5m, 2h or 0.5)")
        delay = float(match[1]) * UNITS[match[2] or ""]
        if delay <= 0:
            raise ValueError(f"a delay must be positive: {step.strip()!r}")
        delays.append(delay)
    return tuple(delays)


@dataclass(frozen=True)
class RetrySchedule:
    """A delivery is tried once, then once after each delay; after the last it has failed."""

    delays: tuple[float, ...]
    jitter: float = JITTER

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """The schedule a setting describes (see parse_schedule)."""
        return cls(parse_schedule(text))

    @property
    def max_attempts(self) -> int:
        """Attempts of one delivery: the first and one per delay."""
        return len(self.delays) + 1

    def delay_after(
        self, attempts: int, uniform: Callable[[float, float], float] = random.uniform
    ) -> float | None:
        """Seconds to wait after `attempts` failed attempts, or None when none is left."""
        if attempts < 1 or attempts > len(self.delays):
            return None
        delay = self.delays[attempts - 1]
        return delay * uniform(1 - self.jitter, 1 + self.jitter)

    def bounds_after(self, attempts: int) -> tuple[float, float] | None:
        """The shortest and longest wait after `attempts` failed attempts (None: none left)."""
        if attempts < 1 or attempts > len(self.delays):
            return None
        delay = self.delays[attempts - 1]
        return delay * (1 - self.jitter), delay * (1 + self.jitter)
