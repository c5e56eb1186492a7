"""One conversion job's ffmpeg work as the converter does it (FfmpegTranscoder: probe, convert,
check the MP3) and the CPU seconds its child processes took, next to bare ffmpeg running the
same conversion command alone (no probe), alternating. Runs on the host and inside the image
alike (it needs only the installed package): bench/image_ffmpeg.py compares the two.

    python bench/job_cpu.py VIDEO [RUNS]
      -> prints {"cpu_seconds": [...], "bare_cpu_seconds": [...], "ffmpeg": "..."}
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from mp3converter.adapters.ffmpeg import FfmpegTranscoder
from mp3converter.adapters.ffmpeg_args import file_url


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def one_job(transcoder: FfmpegTranscoder, src: Path, work: Path) -> float:
    """CPU seconds of the probe and the conversion of src."""
    before = _children_cpu()
    info = await transcoder.probe(src)
    await transcoder.convert(src, work / "out.mp3", info)
    return _children_cpu() - before


def bare(argv: list[str]) -> float:
    """CPU seconds of one ffmpeg run of argv."""
    before = _children_cpu()
    subprocess.run(argv, capture_output=True, check=True)
    return _children_cpu() - before


def main() -> None:
    src = Path(sys.argv[1]).resolve()
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    transcoder = FfmpegTranscoder()
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True)
    cpu, bare_cpu = [], []
    with tempfile.TemporaryDirectory() as work:
        info = asyncio.run(transcoder.probe(src))
        argv = transcoder.build_args(file_url(src), Path(work) / "bare.mp3", info)
        for _ in range(runs):
            cpu.append(asyncio.run(one_job(transcoder, src, Path(work))))
            bare_cpu.append(bare(argv))
    result = {"cpu_seconds": cpu, "bare_cpu_seconds": bare_cpu}
    print(json.dumps({**result, "ffmpeg": version.stdout.splitlines()[0]}))


if __name__ == "__main__":
    main()
