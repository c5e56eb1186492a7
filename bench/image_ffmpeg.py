"""The converter's CPU per job on the image's ffmpeg against the host's (Debian's) ffmpeg.

Both run bench/job_cpu.py (the converter's own probe + convert through FfmpegTranscoder) on the
same 600 s video: on the host with the project's environment, and inside the image with its
ffmpeg, as the converter container runs it (read-only root, UID 10001, host network). Build the
image first (`make image`).

    .venv/bin/python bench/image_ffmpeg.py [--image mp3converter:0.1.0] [--runs 3] [--seconds 600]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.media import make_video
from tests.image.engine import engine

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".data" / "bench"


def host_run(video: Path, runs: int) -> dict[str, object]:
    """job_cpu.py with the host's ffmpeg and ffprobe."""
    command = [sys.executable, str(ROOT / "bench" / "job_cpu.py"), str(video), str(runs)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, object] = json.loads(out)
    return result


def image_run(image: str, video: Path, runs: int) -> dict[str, object]:
    """job_cpu.py inside the image, with its ffmpeg and ffprobe."""
    mounts = [f"--volume={ROOT / 'bench'}:/bench:ro", f"--volume={video.parent}:/media:ro"]
    locked = ["--network=host", "--read-only", "--user=10001:10001", "--tmpfs=/tmp:rw,mode=1777"]
    command = [*engine(), "run", "--rm", *locked, *mounts, "--entrypoint=python", image]
    command += ["/bench/job_cpu.py", f"/media/{video.name}", str(runs)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, object] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="mp3converter:0.1.0")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=600)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    video = CACHE / f"job-cpu-{args.seconds}s.mp4"
    if not video.exists():
        make_video(video, args.seconds, "320x240", timeout=1800, fps=10)
    host = host_run(video, args.runs)
    image = image_run(args.image, video, args.runs)
    host_cpu = statistics.median(host["cpu_seconds"])  # type: ignore[arg-type]
    image_cpu = statistics.median(image["cpu_seconds"])  # type: ignore[arg-type]
    print(f"converter CPU per job, {args.seconds} s video, median of {args.runs}:")
    print("| ffmpeg | CPU s per job | ratio |\n|---|---|---|")
    print(f"| host: {host['ffmpeg']} | {host_cpu:.2f} | 1.00 |")
    print(f"| image: {image['ffmpeg']} | {image_cpu:.2f} | {image_cpu / host_cpu:.2f} |")


if __name__ == "__main__":
    main()
