"""One conversion job's ffmpeg work as the converter does it (FfmpegTranscoder: probe, convert,
check the MP3) and the CPU seconds its child processes took. Runs on the host and inside the
image alike (it needs only the installed package): bench/image_ffmpeg.py compares the two.

    python bench/job_cpu.py VIDEO [RUNS]   -> prints {"cpu_seconds": [...], "ffmpeg": "..."}
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def one_job(transcoder: FfmpegTranscoder, src: Path, work: Path) -> float:
    """CPU seconds of the probe and the conversion of src."""
    before = _children_cpu()
    info = await transcoder.probe(src)
    await transcoder.convert(src, work / "out.mp3", info)
    return _children_cpu() - before


def main() -> None:
    src = Path(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    transcoder = FfmpegTranscoder()
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True)
    with tempfile.TemporaryDirectory() as work:
        cpu = [asyncio.run(one_job(transcoder, src, Path(work))) for _ in range(runs)]
    print(json.dumps({"cpu_seconds": cpu, "ffmpeg": version.stdout.splitlines()[0]}))


if __name__ == "__main__":
    main()
