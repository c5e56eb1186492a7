"""The benchmark clip and the bare ffmpeg command the benchmarks compare against."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

SECONDS = 60


def make_clip(path: Path, seconds: int = SECONDS) -> Path:
    """Write a 640x360 testsrc video with a 440 Hz sine tone in AAC."""
    lavfi = [
        *["-f", "lavfi", "-i", f"testsrc=size=640x360:rate=25:duration={seconds}"],
        *["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"],
    ]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *lavfi, *codecs]
    subprocess.run([*cmd, str(path)], check=True)
    return path


def bare_ffmpeg_seconds(src: Path, dst: Path) -> float:
    """Time the converter's LAME command run directly, without progress or checks."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(src)]
    cmd += ["-map", "0:a:0", "-vn", "-sn", "-dn", "-c:a", "libmp3lame", "-q:a", "2"]
    start = time.perf_counter()
    subprocess.run([*cmd, "-f", "mp3", str(dst)], check=True)
    return time.perf_counter() - start
