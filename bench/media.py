"""Realistic benchmark media, and the bare ffmpeg runs the platform is compared against.

Media are made with the PATH's ffmpeg (Debian's: it has the encoders); the bare runs use the
converter's own build (`make bootstrap` makes it in .tools/), the ffmpeg the platform runs.

The audio is what LAME meets in real videos rather than a pure tone: independent pink noise on each
channel mixed with a 440 Hz and a 660 Hz tone, stereo AAC at 160 kb/s. The video is testsrc2 in
H.264 (ultrafast). Copies of one clip are remuxed (`-c copy`) with a distinct title, so every
upload is a different file without encoding it again.
"""

from __future__ import annotations

import resource
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mp3converter.devstack.converter_ffmpeg import converter_ffmpeg

FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
CONVERTER_FFMPEG = converter_ffmpeg().ffmpeg
BARE = [CONVERTER_FFMPEG, *FFMPEG[1:]]
SAMPLE_RATE = 44100


def _audio_graph(seconds: int) -> str:
    noise = f"anoisesrc=color=pink:amplitude=0.25:sample_rate={SAMPLE_RATE}:duration={seconds}"
    tone = f"sample_rate={SAMPLE_RATE}:duration={seconds}"
    return ";".join(
        [
            f"{noise}:seed=1[nl]",
            f"{noise}:seed=2[nr]",
            f"sine=frequency=440:{tone},asplit[a1][a2]",
            f"sine=frequency=660:{tone},asplit[b1][b2]",
            "[nl][a1][b1]amix=inputs=3[l]",
            "[nr][a2][b2]amix=inputs=3[r]",
            "[l][r]join=inputs=2:channel_layout=stereo[a]",
        ]
    )


def make_video(path: Path, seconds: int, size: str, timeout: float, fps: int = 25) -> Path:
    """Write a testsrc2 H.264 video of `size` with pink noise and two tones in stereo AAC."""
    graph = f"testsrc2=size={size}:rate={fps}:duration={seconds}[v];{_audio_graph(seconds)}"
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    codecs += ["-c:a", "aac", "-b:a", "160k", "-ac", "2"]
    cmd = [*FFMPEG, "-filter_complex", graph, "-map", "[v]", "-map", "[a]", *codecs, str(path)]
    subprocess.run(cmd, check=True, timeout=timeout)
    return path


def fast_start(src: Path, dst: Path, timeout: float) -> Path:
    """The same video remuxed with its index (moov) first, as web-optimised MP4s are."""
    cmd = [*FFMPEG, "-i", str(src), "-map", "0", "-c", "copy", "-movflags", "+faststart", str(dst)]
    subprocess.run(cmd, check=True, timeout=timeout)
    return dst


def copies(src: Path, directory: Path, count: int, timeout: float) -> list[Path]:
    """`count` remuxed copies of src, each with its own title (so their bytes differ)."""
    directory.mkdir(parents=True, exist_ok=True)
    made = []
    for index in range(count):
        dst = directory / f"{src.stem}-{index:03d}{src.suffix}"
        cmd = [*FFMPEG, "-i", str(src), "-map", "0", "-c", "copy"]
        cmd += ["-metadata", f"title=bench clip {index}", str(dst)]
        subprocess.run(cmd, check=True, timeout=timeout)
        made.append(dst)
    return made


def lame_command(src: Path, dst: Path) -> list[str]:
    """The converter's LAME command (FfmpegTranscoder), without its progress pipe and checks."""
    cmd = [*BARE, "-i", str(src), "-map", "0:a:0", "-vn", "-sn", "-dn"]
    return [*cmd, "-c:a", "libmp3lame", "-q:a", "2", "-f", "mp3", str(dst)]


@dataclass(frozen=True)
class BareRun:
    """One bare ffmpeg run: wall seconds, and CPU seconds of the child (user + system)."""

    seconds: float
    cpu_seconds: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_commands(commands: list[list[str]], timeout: float) -> BareRun:
    """Run the commands one after another; their wall time and (RUSAGE_CHILDREN delta) CPU time.

    Only meaningful when no other child of this process is reaped meanwhile: call it alone.
    """
    cpu_before = _children_cpu()
    start = time.perf_counter()
    for cmd in commands:
        subprocess.run(cmd, check=True, timeout=timeout)
    elapsed = time.perf_counter() - start
    return BareRun(elapsed, _children_cpu() - cpu_before)


def bare_ffmpeg(src: Path, dst: Path, timeout: float) -> BareRun:
    """Run the LAME command on src; its wall time and CPU time (see bare_commands)."""
    return bare_commands([lame_command(src, dst)], timeout)


def bare_pool(sources: list[Path], out_dir: Path, workers: int, timeout: float) -> float:
    """Convert every source with `workers` ffmpeg processes at once (like `xargs -P`); wall time."""
    out_dir.mkdir(parents=True, exist_ok=True)

    def one(src: Path) -> None:
        subprocess.run(lame_command(src, out_dir / f"{src.stem}.mp3"), check=True, timeout=timeout)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, sources))
    return time.perf_counter() - start
