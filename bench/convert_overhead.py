"""Wall time of FfmpegConverter.convert against the same bare ffmpeg command (60 s clip)."""

import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from mp3converter.adapters.ffmpeg import FfmpegConverter, MediaInfo

RUNS = 3
SECONDS = 60


def make_clip(path: Path) -> None:
    """Write a 640x360 testsrc video with a sine tone in AAC."""
    lavfi = [
        *["-f", "lavfi", "-i", f"testsrc=size=640x360:rate=25:duration={SECONDS}"],
        *["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={SECONDS}"],
    ]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *lavfi, *codecs]
    subprocess.run([*cmd, str(path)], check=True)


def bare(src: Path, dst: Path) -> float:
    """Time the adapter's LAME command run directly, without progress or checks."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(src)]
    cmd += ["-map", "0:a:0", "-vn", "-sn", "-dn", "-c:a", "libmp3lame", "-q:a", "2"]
    start = time.perf_counter()
    subprocess.run([*cmd, "-f", "mp3", str(dst)], check=True)
    return time.perf_counter() - start


async def adapter(converter: FfmpegConverter, src: Path, dst: Path, info: MediaInfo) -> float:
    """Time FfmpegConverter.convert, progress callback and output check included."""
    calls = 0

    async def on_progress(_: float) -> None:
        nonlocal calls
        calls += 1

    start = time.perf_counter()
    await converter.convert(src, dst, info, on_progress)
    elapsed = time.perf_counter() - start
    assert calls > 0
    return elapsed


async def main() -> None:
    """Alternate bare and adapter runs, then print medians and their ratio."""
    converter = FfmpegConverter()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        make_clip(src)
        info = await converter.probe(src)
        bare_times: list[float] = []
        adapter_times: list[float] = []
        for _ in range(RUNS):
            bare_times.append(await asyncio.to_thread(bare, src, Path(tmp) / "bare.mp3"))
            adapter_times.append(await adapter(converter, src, Path(tmp) / "adapter.mp3", info))
    bare_median = statistics.median(bare_times)
    adapter_median = statistics.median(adapter_times)
    print(f"clip: {SECONDS} s 640x360 testsrc + sine (aac), libmp3lame -q:a 2, {RUNS} runs each")
    for name, times in (("bare ffmpeg", bare_times), ("adapter", adapter_times)):
        runs = ", ".join(f"{t:.3f}" for t in times)
        print(f"{name:<12} median {statistics.median(times):.3f} s  (runs: {runs})")
    print(f"ratio adapter/bare {adapter_median / bare_median:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
