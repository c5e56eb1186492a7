"""Readiness: each dependency of a role checked, bounded in time, and which ones fail."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

Check = Callable[[], Awaitable[object]]
Checks = Mapping[str, Check]
READY_TIMEOUT_SECONDS = 3.0


async def run_checks(checks: Checks) -> dict[str, str]:
    """`ok` or `failing: <error>` per dependency."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_SECONDS)
            results[name] = "ok"
        except Exception as exc:  # any failure means not ready; report which
            results[name] = f"failing: {type(exc).__name__}"
    return results
