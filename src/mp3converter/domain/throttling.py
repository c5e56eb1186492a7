"""How failed logins slow an attacker down: a few free tries, then a lock that doubles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottlePolicy:
    """After `max_failures` in `window_seconds`, a lock of 2 s; each failure after it doubles it."""

    max_failures: int
    window_seconds: float
    max_lock_seconds: float

    def lock_seconds(self, failures: int) -> float:
        """How long to lock after this many failures in the window (0: no lock)."""
        over = failures - self.max_failures + 1
        if over <= 0:
            return 0.0
        return min(2.0 ** min(over, 62), self.max_lock_seconds)
