"""How long a progress report takes from the converter to a client's SSE stream.

Starts SecantusDB and the auth, upload, converter and gateway roles, then for each of JOBS noise
files (long enough for several progress periods) uploads it, follows GET /jobs/{id}/events
through the gateway, and takes, for every `progress` event, the time it arrived minus the moment
the converter stamped it (the event id: microseconds since the epoch, the same clock on this one
machine). Prints the median, 90th percentile and maximum, and the median as a ratio of the 0.5 s
progress period (what a watcher could notice).
Run: `.venv/bin/python bench/sse_latency.py [--jobs 3] [--seconds 600]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, platform

PROGRESS_PERIOD = 0.5


def noise(path: Path, seconds: int) -> Path:
    """A WAV of stereo noise: costly enough for LAME to report progress several times."""
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=d={seconds}:r=44100",
            "-ac",
            "2",
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


def one_job(gateway: httpx.Client, auth: dict[str, str], source: Path) -> list[float]:
    """Delays of the job's progress events, in seconds."""
    with source.open("rb") as file:
        accepted = gateway.post("/upload", headers=auth, files={"file": (source.name, file)})
    accepted.raise_for_status()
    job_id = accepted.json()["job_id"]
    delays: list[float] = []
    with connect_sse(gateway, "GET", f"/jobs/{job_id}/events", headers=auth) as events:
        for sse in events.iter_sse():
            if sse.event == "progress":
                delays.append(time.time() - int(sse.id) / 1_000_000)
            if sse.event in ("done", "failed"):
                break
    return delays


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = noise(Path(tmp) / "noise.wav", args.seconds)
        with platform(Path(tmp), ["auth", "upload", "converter", "gateway"]) as roles:
            base = f"http://127.0.0.1:{roles.ports['gateway']}"
            with httpx.Client(base_url=base, timeout=120) as gateway:
                login = gateway.post("/login", auth=(ADMIN_EMAIL, ADMIN_PASSWORD))
                auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
                delays = [d for _ in range(args.jobs) for d in one_job(gateway, auth, source)]
    delays.sort()
    median = statistics.median(delays)
    p90 = delays[int(0.9 * (len(delays) - 1))]
    print(
        f"progress -> SSE client, {len(delays)} events of {args.jobs} jobs: "
        f"median {median * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms; "
        f"median / progress period = {median / PROGRESS_PERIOD:.3f}"
    )


if __name__ == "__main__":
    main()
