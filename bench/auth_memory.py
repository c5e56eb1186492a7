"""Peak RSS of the auth role under a burst of concurrent logins, capped and uncapped.

Starts SecantusDB and the auth role twice: with the default argon2 concurrency cap
(PASSWORD_HASH_CONCURRENCY=2, PASSWORD_HASH_QUEUE=8) and, as the baseline, with the cap opened to
the burst size (what the role did before the cap). Each time it sends BURST concurrent logins for
unknown users from distinct client addresses (so throttling does not answer first), samples the
role's RSS every 10 ms, and reports idle and peak RSS, answers by status and the burst's duration.
Run: `.venv/bin/python bench/auth_memory.py [--burst 40]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

from harness import platform

MIB = 1024 * 1024
SAMPLE_SECONDS = 0.01


def sample_peak(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Record the highest RSS of the process until stop is set."""
    process = psutil.Process(pid)
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        time.sleep(SAMPLE_SECONDS)


async def burst(base: str, size: int) -> tuple[Counter[int], float]:
    """`size` concurrent failed logins; the statuses and the wall time of the burst."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:

        async def one(n: int) -> int:
            response = await client.post(
                "/login",
                auth=(f"nobody{n}@example.com", "not-the-password"),
                headers={"X-Forwarded-For": f"198.51.100.{n % 250}"},
            )
            return response.status_code

        started = time.perf_counter()
        statuses = await asyncio.gather(*(one(n) for n in range(size)))
        return Counter(statuses), time.perf_counter() - started


def measure(size: int, env: dict[str, str]) -> tuple[int, int, Counter[int], float]:
    """(idle RSS, peak RSS, statuses, seconds) of one auth role under one burst."""
    with tempfile.TemporaryDirectory() as tmp, platform(Path(tmp), ["auth"], env) as roles:
        pid = roles.processes["auth"].pid
        idle = psutil.Process(pid).memory_info().rss
        peak, stop = [idle], threading.Event()
        sampler = threading.Thread(target=sample_peak, args=(pid, stop, peak))
        sampler.start()
        try:
            statuses, seconds = asyncio.run(burst(f"http://127.0.0.1:{roles.ports['auth']}", size))
            time.sleep(0.5)
        finally:
            stop.set()
            sampler.join()
        return idle, peak[0], statuses, seconds


def main() -> None:
    """Run both configurations and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=40)
    size = parser.parse_args().burst
    rows = {
        "capped (default: 2 hashing, 8 waiting)": {},
        "uncapped baseline": {
            "PASSWORD_HASH_CONCURRENCY": str(size),
            "PASSWORD_HASH_QUEUE": "0",
        },
    }
    print(f"{size} concurrent logins for unknown users against the auth role")
    print(f"{'configuration':40} {'idle MiB':>9} {'peak MiB':>9} {'seconds':>8}  answers")
    peaks = {}
    for name, env in rows.items():
        idle, peak, statuses, seconds = measure(size, env)
        peaks[name] = peak
        answers = ", ".join(f"{code} x{n}" for code, n in sorted(statuses.items()))
        print(f"{name:40} {idle / MIB:9.0f} {peak / MIB:9.0f} {seconds:8.2f}  {answers}")
    capped, uncapped = peaks.values()
    print(f"peak RSS capped / uncapped: {capped / uncapped:.2f}")


if __name__ == "__main__":
    main()
