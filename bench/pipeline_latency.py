"""Upload-to-done latency of a 60 s clip through the whole platform, against bare ffmpeg.

Starts SecantusDB and all five roles as processes, times the bare ffmpeg command on the clip
(median of 3), then logs in once and times upload -> converting -> done through the gateway,
polling GET /jobs/{id} every 0.05 s (median of 3). Run: `.venv/bin/python bench/pipeline_latency.py`.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from clips import SECONDS, bare_ffmpeg_seconds, make_clip
from harness import login, platform

RUNS = 3
POLL_SECONDS = 0.05
JOB_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class Run:
    """One upload through the platform: time to the 202, and time until the job was done."""

    upload_seconds: float
    done_seconds: float


def upload_until_done(http: httpx.Client, token: str, clip: Path) -> Run:
    """POST the clip, then poll its job until it is done."""
    auth = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    with clip.open("rb") as body:
        response = http.post(
            "/upload", files={"file": (clip.name, body, "video/mp4")}, headers=auth
        )
    response.raise_for_status()
    uploaded = time.perf_counter() - start
    job_id = response.json()["job_id"]
    while True:
        job = http.get(f"/jobs/{job_id}", headers=auth).raise_for_status().json()
        if job["status"] == "done":
            return Run(uploaded, time.perf_counter() - start)
        if job["status"] == "failed":
            raise RuntimeError(f"job {job_id} failed: {job['error']}")
        if time.perf_counter() - start > JOB_TIMEOUT_SECONDS:
            raise TimeoutError(f"job {job_id} not done after {JOB_TIMEOUT_SECONDS} s: {job}")
        time.sleep(POLL_SECONDS)


def main() -> None:
    """Time bare ffmpeg, then the platform, on the same clip; print medians and their ratio."""
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp_name:
        tmp = Path(tmp_name)
        clip = make_clip(tmp / "clip.mp4")
        bare = [bare_ffmpeg_seconds(clip, tmp / "bare.mp3") for _ in range(RUNS)]
        with platform(tmp) as roles:
            gateway = f"http://127.0.0.1:{roles.ports['gateway']}"
            with httpx.Client(base_url=gateway, timeout=60) as http:
                token = login(http)
                runs = [upload_until_done(http, token, clip) for _ in range(RUNS)]
        clip_mb = clip.stat().st_size / 1_000_000
    bare_median = statistics.median(bare)
    done_median = statistics.median(r.done_seconds for r in runs)
    upload_median = statistics.median(r.upload_seconds for r in runs)
    print(f"clip: {SECONDS} s 640x360 testsrc + sine (aac), {clip_mb:.1f} MB; {RUNS} runs each")
    print(f"bare ffmpeg (libmp3lame -q:a 2) median {bare_median:.3f} s  (runs: {fmt(bare)})")
    done = [r.done_seconds for r in runs]
    print(f"upload-to-done via gateway     median {done_median:.3f} s  (runs: {fmt(done)})")
    print(f"  of which POST /upload (202)  median {upload_median:.3f} s")
    print(f"ratio platform / bare ffmpeg: {done_median / bare_median:.3f}")
    print(f"platform overhead: {done_median - bare_median:.3f} s per job (polling every 0.05 s)")


def fmt(times: list[float]) -> str:
    """Seconds, comma separated."""
    return ", ".join(f"{t:.3f}" for t in times)


if __name__ == "__main__":
    main()
