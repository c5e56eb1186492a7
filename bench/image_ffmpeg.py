"""The converter's CPU per job on the image's ffmpeg against the host's (Debian's) ffmpeg, and
on each against bare ffmpeg running the conversion command alone (what the probe costs there).

Both run bench/job_cpu.py (the converter's own probe + convert through FfmpegTranscoder, then
the bare command, alternating) on the same video: on the host with the project's environment,
and inside the image with its ffmpeg, as the converter container runs it (read-only root, UID
10001, host network). Build the image first (`make image`).

    .venv/bin/python bench/image_ffmpeg.py [--image mp3converter:0.1.0] [--runs 3]
        [--seconds 600] [--size 320x240]
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
TIMES = "\u00d7"


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
    parser.add_argument("--size", default="320x240", help="the video's frame size")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    video = CACHE / f"job-cpu-{args.seconds}s-{args.size}.mp4"
    if not video.exists():
        make_video(video, args.seconds, args.size, timeout=1800, fps=10)
    host = host_run(video, args.runs)
    image = image_run(args.image, video, args.runs)
    host_cpu = statistics.median(host["cpu_seconds"])  # type: ignore[arg-type]
    print(f"converter CPU per job, {args.seconds} s {args.size} video, median of {args.runs}:")
    print("| ffmpeg | probe + convert, CPU s | bare convert, CPU s | vs bare | vs host |")
    print("|---|---|---|---|---|")
    for name, run in (("host", host), ("image", image)):
        cpu = statistics.median(run["cpu_seconds"])  # type: ignore[arg-type]
        bare = statistics.median(run["bare_cpu_seconds"])  # type: ignore[arg-type]
        print(
            f"| {name}: {run['ffmpeg']} | {cpu:.3f} | {bare:.3f} | {cpu / bare:.2f}{TIMES} "
            f"| {cpu / host_cpu:.2f}{TIMES} |"
        )


if __name__ == "__main__":
    main()
