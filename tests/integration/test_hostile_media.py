"""The ffmpeg adapter against hostile files, on the real ffmpeg and ffprobe."""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from mp3converter.adapters.ffmpeg import MediaInfo
from mp3converter.adapters.media_errors import MediaError
from mp3converter.adapters.media_formats import ALLOWED_DEMUXERS
from mp3converter.domain.jobs import FailureCode
from mp3converter.domain.limits import MediaLimits
from tests.hostile_media import REFERENCE_FORMATS, REFUSED_FORMATS, flac_silence, secret_audio
from tests.media import ffprobe_json, make_noise_wav, make_video, run_ffmpeg, transcoder

SECRET_ENV = "MP3C_TEST_SECRET"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    return secret_audio(tmp_path / "outside")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    path = tmp_path / "scratch"
    path.mkdir()
    return path


def upload(scratch: Path, content: bytes) -> Path:
    """The upload as the converter stores it: a file named `source` in its scratch dir."""
    path = scratch / "source"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("make", ["hls", "dash"])
def test_without_the_allow_list_ffmpeg_would_read_the_secret(
    scratch: Path, secret: Path, make: str
) -> None:
    # The control: these inputs are real attacks on ffmpeg's defaults (protocol whitelist only).
    src = upload(scratch, REFERENCE_FORMATS[make](secret))
    out = scratch / "stolen.mp3"
    ffmpeg = ["ffmpeg", "-v", "error", "-y", "-protocol_whitelist", "file"]
    subprocess.run(
        [*ffmpeg, "-i", f"file:{src}", "-map", "0:a:0", "-f", "mp3", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert out.stat().st_size > 10_000  # three seconds of the secret tone


@pytest.mark.parametrize("make", sorted(REFUSED_FORMATS))
async def test_files_that_refer_to_other_files_or_are_images_are_unsupported(
    scratch: Path, secret: Path, make: str
) -> None:
    src = upload(scratch, REFUSED_FORMATS[make](secret))
    converter = transcoder()

    started = time.monotonic()
    with pytest.raises(MediaError) as caught:
        await converter.probe(src)
    elapsed = time.monotonic() - started

    assert caught.value.code is FailureCode.UNSUPPORTED_FORMAT
    assert "MP4" in caught.value.reason
    assert elapsed < 10


@pytest.mark.parametrize("make", sorted(REFUSED_FORMATS))
async def test_ffmpeg_itself_refuses_them_even_without_the_probe(
    scratch: Path, secret: Path, make: str
) -> None:
    # Defence in depth: the conversion has the allow-list too, whatever a probe said.
    src = upload(scratch, REFUSED_FORMATS[make](secret))
    dst = scratch / "audio.mp3"
    claimed = MediaInfo(duration_seconds=3.0, has_audio=True, audio_codec="mp2")

    with pytest.raises(MediaError) as caught:
        await transcoder().convert(src, dst, claimed)

    assert caught.value.code is FailureCode.UNSUPPORTED_FORMAT
    assert not dst.exists()
    assert sorted(p.name for p in scratch.iterdir()) == ["source"]


def opus_webm(path: Path) -> Path:
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libopus", str(path)])
    return path


@pytest.mark.parametrize(
    ("make", "demuxer"),
    [
        (lambda d: make_video(d / "in.mp4", seconds=1), "mov"),
        (lambda d: make_video(d / "in.mkv", seconds=1, audio_codec="mp3"), "matroska"),
        (lambda d: make_video(d / "in.avi", seconds=1, audio_codec="mp3"), "avi"),
        (lambda d: make_video(d / "in.ts", seconds=1), "mpegts"),
        (lambda d: opus_webm(d / "in.webm"), "matroska"),
        (lambda d: make_noise_wav(d / "in.wav", seconds=1), "wav"),
        (lambda d: flac_silence(d / "in.flac", seconds=1), "flac"),
    ],
    ids=["mp4", "mkv", "avi", "ts", "webm", "wav", "flac"],
)
async def test_ordinary_containers_and_audio_files_are_allowed(
    tmp_path: Path, make: Callable[[Path], Path], demuxer: str
) -> None:
    src = make(tmp_path)
    info = await transcoder().probe(src)

    assert demuxer in ALLOWED_DEMUXERS
    assert demuxer in ffprobe_json(src)["format"]["format_name"].split(",")
    assert info.has_audio


async def test_a_probe_past_its_deadline_is_probe_timeout(tmp_path: Path) -> None:
    src = make_video(tmp_path / "in.mp4", seconds=1)
    converter = transcoder(limits=MediaLimits(probe_seconds=0.001))

    with pytest.raises(MediaError) as caught:
        await converter.probe(src)

    assert caught.value.code is FailureCode.PROBE_TIMEOUT
    assert "0.001 s" in caught.value.reason
    assert [p for p in psutil.Process().children() if p.name() == "ffprobe"] == []


async def test_a_file_longer_than_the_limit_fails_after_the_probe(tmp_path: Path) -> None:
    src = flac_silence(tmp_path / "two-hours.flac", seconds=7200)
    converter = transcoder(limits=MediaLimits(max_media_seconds=3600))
    dst = tmp_path / "out.mp3"

    started = time.monotonic()
    info = await converter.probe(src)
    with pytest.raises(MediaError) as caught:
        await converter.convert(src, dst, info)

    assert src.stat().st_size < 100_000
    assert caught.value.code is FailureCode.TOO_LONG
    assert caught.value.reason == "the media is 2:00:00 long; the limit is 1:00:00"
    assert time.monotonic() - started < 2
    assert not dst.exists()


async def test_a_file_hiding_its_length_is_cut_just_past_the_limit(tmp_path: Path) -> None:
    src = flac_silence(tmp_path / "ten-hours.flac", seconds=36000, hide_length=True)
    converter = transcoder(limits=MediaLimits(max_media_seconds=60))
    dst = tmp_path / "out.mp3"

    info = await converter.probe(src)
    started = time.monotonic()
    with pytest.raises(MediaError) as caught:
        await converter.convert(src, dst, info)

    assert info.duration_seconds is None  # the length was hidden, so the probe cannot refuse it
    assert caught.value.code is FailureCode.TOO_LONG
    assert "0:01:00" in caught.value.reason
    assert time.monotonic() - started < 10  # one minute of audio, not ten hours
    assert not dst.exists()


async def test_an_mp3_larger_than_the_limit_is_output_too_large(tmp_path: Path) -> None:
    src = make_noise_wav(tmp_path / "noise.wav", seconds=30)
    converter = transcoder(limits=MediaLimits(max_output_bytes=50_000))
    dst = tmp_path / "out.mp3"

    with pytest.raises(MediaError) as caught:
        await converter.convert(src, dst, await converter.probe(src))

    assert caught.value.code is FailureCode.OUTPUT_TOO_LARGE
    assert "50000 bytes" in caught.value.reason
    assert not dst.exists()


async def test_children_get_no_secrets_the_scratch_dir_and_kernel_limits(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "hunter2")
    src = make_noise_wav(scratch / "noise.wav", seconds=600).rename(scratch / "source")
    limits = MediaLimits(
        conversion_seconds=120, max_output_bytes=64 * 1024**2, child_memory_bytes=1024**3
    )
    converter = transcoder(limits=limits)
    info = await converter.probe(src)
    seen: list[psutil.Process] = []
    running = asyncio.Event()

    async def on_progress(_: float) -> None:
        running.set()

    task = asyncio.create_task(converter.convert(src, scratch / "audio.mp3", info, on_progress))
    try:
        await asyncio.wait_for(running.wait(), timeout=30)
        seen = [p for p in psutil.Process().children() if p.name() == "ffmpeg"]
        assert len(seen) == 1
        child = seen[0]
        environ = child.environ()
        parent_nice = psutil.Process().nice()
        facts = {
            "secret": SECRET_ENV in environ,
            "env": sorted(environ),
            "cwd": child.cwd(),
            "nice": child.nice() - parent_nice,
            "as": child.rlimit(resource.RLIMIT_AS),
            "fsize": child.rlimit(resource.RLIMIT_FSIZE),
            "cpu": child.rlimit(resource.RLIMIT_CPU),
            "core": child.rlimit(resource.RLIMIT_CORE),
        }
    finally:
        task.cancel()
        await asyncio.wait({task}, timeout=10)

    assert facts == {
        "secret": False,
        "env": ["HOME", "LANG", "LC_ALL", "MALLOC_ARENA_MAX", "PATH"],
        "cwd": str(scratch),
        "nice": 10,
        "as": (1024**3, 1024**3),
        "fsize": (64 * 1024**2, 64 * 1024**2),
        "cpu": (240, 245),
        "core": (0, 0),
    }


def test_a_child_dies_with_its_parent(tmp_path: Path) -> None:
    # The converter may be SIGKILLed (OOM, node loss): its ffmpeg must not run on unsupervised.
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from mp3converter.adapters.child_process import ChildLimits, spawn\n"
        "async def main():\n"
        "    limits = ChildLimits(cpu_seconds=60, memory_bytes=2**30, file_bytes=2**20)\n"
        "    async with spawn(['sleep', '60'], cwd=Path(sys.argv[1]), limits=limits) as proc:\n"
        "        print(proc.pid, flush=True)\n"
        "        await proc.wait()\n"
        "asyncio.run(main())\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    child = psutil.Process(child_pid)
    assert child.name() == "sleep"

    parent.kill()
    parent.wait(timeout=10)

    gone, _ = psutil.wait_procs([child], timeout=10)
    assert [p.pid for p in gone] == [child_pid]
