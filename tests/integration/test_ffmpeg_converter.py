"""FfmpegTranscoder against the real ffmpeg and ffprobe, on media generated at test time."""

import asyncio
import os
import random
import threading
from pathlib import Path

import psutil
import pytest

from mp3converter.adapters.ffmpeg import FfmpegTranscoder, MediaInfo
from mp3converter.adapters.media_errors import MediaError
from mp3converter.domain.jobs import FailureCode
from tests.media import ffprobe_json, make_noise_wav, make_video, transcoder, truncate


@pytest.fixture
def converter() -> FfmpegTranscoder:
    return transcoder()


async def test_mp4_with_aac_becomes_an_mp3_of_the_same_length(
    tmp_path: Path, converter: FfmpegTranscoder
) -> None:
    src = make_video(tmp_path / "in.mp4", seconds=4)
    dst = tmp_path / "out.mp3"
    fractions: list[float] = []

    async def record(done: float) -> None:
        fractions.append(done)

    info = await converter.probe(src)
    result = await converter.convert(src, dst, info, on_progress=record)

    assert (info.has_audio, info.audio_codec) == (True, "aac")
    out = ffprobe_json(dst)
    assert out["format"]["format_name"] == "mp3"
    assert float(out["format"]["duration"]) == pytest.approx(4.0, abs=0.5)
    assert [s["codec_type"] for s in out["streams"]] == ["audio"]
    assert result.duration_seconds == pytest.approx(4.0, abs=0.5)
    assert fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0, abs=0.02)


async def test_mp3_audio_is_copied_into_a_valid_mp3(
    tmp_path: Path, converter: FfmpegTranscoder
) -> None:
    src = make_video(tmp_path / "in.mkv", seconds=4, audio_codec="mp3")
    dst = tmp_path / "out.mp3"

    info = await converter.probe(src)
    await converter.convert(src, dst, info)

    out = ffprobe_json(dst)
    assert out["format"]["format_name"] == "mp3"
    assert float(out["format"]["duration"]) == pytest.approx(4.0, abs=0.5)
    # The 64 kbit/s CBR source survives only a copy; LAME at -q:a 2 would pick other rates.
    assert out["streams"][0]["bit_rate"] == "64000"


async def test_video_without_audio_is_no_audio(tmp_path: Path, converter: FfmpegTranscoder) -> None:
    src = make_video(tmp_path / "in.mp4", seconds=2, audio=False)

    info = await converter.probe(src)
    with pytest.raises(MediaError) as caught:
        await converter.convert(src, tmp_path / "out.mp3", info)

    assert caught.value.code == FailureCode.NO_AUDIO


async def test_ffmpeg_failure_is_conversion_failed_with_its_reason(
    tmp_path: Path, converter: FfmpegTranscoder
) -> None:
    src = make_video(tmp_path / "in.mp4", seconds=2, audio=False)
    wrong = MediaInfo(duration_seconds=2.0, has_audio=True, audio_codec="aac")

    with pytest.raises(MediaError) as caught:
        await converter.convert(src, tmp_path / "out.mp3", wrong)

    assert caught.value.code == FailureCode.CONVERSION_FAILED
    assert "matches no streams" in caught.value.reason


@pytest.mark.parametrize(
    "content", [b"", random.Random(7).randbytes(50_000)], ids=["empty", "random"]
)
async def test_non_media_is_not_media(
    tmp_path: Path, converter: FfmpegTranscoder, content: bytes
) -> None:
    src = tmp_path / "upload.mp4"
    src.write_bytes(content)

    with pytest.raises(MediaError) as caught:
        await converter.probe(src)

    assert caught.value.code == FailureCode.NOT_MEDIA
    assert caught.value.reason
    assert str(tmp_path) not in caught.value.reason


async def test_fast_start_mp4_cut_in_half_gives_no_mp3(
    tmp_path: Path, converter: FfmpegTranscoder
) -> None:
    src = truncate(make_video(tmp_path / "in.mp4", seconds=6, faststart=True))
    dst = tmp_path / "out.mp3"

    with pytest.raises(MediaError) as caught:
        await converter.convert(src, dst, await converter.probe(src))

    assert caught.value.code in {FailureCode.TRUNCATED_INPUT, FailureCode.NOT_MEDIA}
    assert not dst.exists()


async def test_mp4_with_moov_at_the_end_cut_in_half_is_a_media_error(
    tmp_path: Path, converter: FfmpegTranscoder
) -> None:
    src = truncate(make_video(tmp_path / "in.mp4", seconds=6))
    dst = tmp_path / "out.mp3"

    with pytest.raises(MediaError):
        await converter.convert(src, dst, await converter.probe(src))

    assert not dst.exists()


async def test_cancelled_convert_leaves_no_ffmpeg_running(
    tmp_path: Path, converter: FfmpegTranscoder
) -> None:
    # A FIFO fed half a WAV and then left open stalls ffmpeg mid-conversion, deterministically.
    wav = make_noise_wav(tmp_path / "noise.wav", seconds=20)
    fifo = tmp_path / "stalled.wav"
    os.mkfifo(fifo)
    release = threading.Event()
    writer = threading.Thread(target=feed_half_then_stall, args=(wav, fifo, release), daemon=True)
    writer.start()
    running = asyncio.Event()

    async def on_progress(_: float) -> None:
        running.set()

    info = MediaInfo(duration_seconds=20.0, has_audio=True, audio_codec="pcm_s16le")
    task = asyncio.create_task(converter.convert(fifo, tmp_path / "out.mp3", info, on_progress))
    try:
        await asyncio.wait_for(running.wait(), timeout=20)
        children = [p for p in psutil.Process().children() if p.name() == "ffmpeg"]
        assert len(children) == 1

        task.cancel()
        await asyncio.wait({task}, timeout=5)

        assert task.cancelled()
        assert not psutil.pid_exists(children[0].pid)
    finally:
        release.set()
        writer.join(timeout=5)


def feed_half_then_stall(wav: Path, fifo: Path, release: threading.Event) -> None:
    data = wav.read_bytes()
    try:
        with fifo.open("wb") as pipe:
            pipe.write(data[: len(data) // 2])
            pipe.flush()
            release.wait(timeout=60)
    except BrokenPipeError:
        pass  # ffmpeg was killed, as the test intends
