"""Wall time of FfmpegConverter.convert against the same bare ffmpeg command (60 s clip)."""

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from clips import SECONDS, bare_ffmpeg_seconds, make_clip
from mp3converter.adapters.ffmpeg import FfmpegConverter, MediaInfo

RUNS = 3


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
            bare_times.append(
                await asyncio.to_thread(bare_ffmpeg_seconds, src, Path(tmp) / "bare.mp3")
            )
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
