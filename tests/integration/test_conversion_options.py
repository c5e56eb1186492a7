"""Conversion options on the real ffmpeg: each MP3 is checked with ffprobe and ebur128."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mp3converter.adapters.ffmpeg import ConversionResult
from mp3converter.adapters.media_errors import MediaError
from mp3converter.domain.conversion_options import ConversionOptions, parse_options
from mp3converter.domain.jobs import FailureCode
from tests.media import ffprobe_json, run_ffmpeg, transcoder

SECONDS = 12
# Pink noise with a tone: what LAME and the loudness meter see in real recordings.
MUSIC = (
    f"anoisesrc=color=pink:sample_rate=44100:amplitude=0.3:duration={SECONDS}[n];"
    f"sine=frequency=330:sample_rate=44100:duration={SECONDS}[t];"
    "[n][t]amix=inputs=2,pan=stereo|c0=c0|c1=0.8*c0[music]"
)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A video with two audio tracks and tags, an M4A with a cover, a peaky WAV, an MP3."""
    root = tmp_path_factory.mktemp("options-media")
    video = root / "talk.mp4"
    graph = MUSIC + f";sine=frequency=880:sample_rate=22050:duration={SECONDS}[second]"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=1280x720:rate=2:duration={SECONDS}",
            "-filter_complex",
            graph,
            "-map",
            "0:v",
            "-map",
            "[music]",
            "-map",
            "[second]",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-metadata",
            "title=Source title",
            "-metadata",
            "artist=Source artist",
            str(video),
        ]
    )
    picture = root / "cover.jpg"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc=size=300x300", "-frames:v", "1", str(picture)])
    song = root / "song.m4a"
    run_ffmpeg(
        [
            "-filter_complex",
            MUSIC,
            "-i",
            str(picture),
            "-map",
            "[music]",
            "-map",
            "0:v",
            "-c:a",
            "aac",
            "-c:v",
            "copy",
            "-disposition:v",
            "attached_pic",
            str(song),
        ]
    )
    peaky = root / "peaky.wav"
    # Quiet noise with sparse full-scale clicks: the gain to -16 LUFS would clip the clicks.
    burst = (
        "anoisesrc=color=pink:sample_rate=44100:amplitude=0.1:duration=10[q];"
        "aevalsrc='0.85*lt(mod(t\\,0.5)\\,0.0002)':s=44100:d=10[c];"
        "[q][c]amix=inputs=2:normalize=0,pan=stereo|c0=c0|c1=c0[out]"
    )
    run_ffmpeg(["-filter_complex", burst, "-map", "[out]", "-c:a", "pcm_s16le", str(peaky)])
    mp3 = root / "song.mp3"
    run_ffmpeg(
        ["-filter_complex", MUSIC, "-map", "[music]", "-c:a", "libmp3lame", "-b:a", "96k", str(mp3)]
    )
    return {"video": video, "song": song, "peaky": peaky, "mp3": mp3}


async def convert(
    src: Path, dst: Path, fields: list[tuple[str, str]]
) -> tuple[ConversionResult, dict[str, object]]:
    converter = transcoder()
    info = await converter.probe(src)
    result = await converter.convert(src, dst, info, None, parse_options(fields))
    return result, ffprobe_json(dst)


def audio(probe: dict[str, object]) -> dict[str, object]:
    streams = probe["streams"]
    assert isinstance(streams, list)
    return next(s for s in streams if s["codec_type"] == "audio")


def pictures(probe: dict[str, object]) -> list[dict[str, object]]:
    streams = probe["streams"]
    assert isinstance(streams, list)
    return [s for s in streams if s["codec_type"] == "video"]


def loudness_of(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak of a file, measured by ffmpeg's ebur128."""
    err = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-map",
            "0:a",
            "-af",
            "ebur128=peak=true:framelog=verbose",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    summary = err[err.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated, summary
    assert peak, summary
    return float(integrated.group(1)), float(peak.group(1))


def mp3_bitrate(path: Path) -> float:
    """The audio's own bit rate: its bytes (the ID3 tag left out) over its length."""
    probe = ffprobe_json(path)
    return float(audio(probe)["bit_rate"])


@pytest.mark.parametrize("kbps", [64, 128, 320])
async def test_bitrate_is_constant_within_two_percent(
    media: dict[str, Path], tmp_path: Path, kbps: int
) -> None:
    _, probe = await convert(media["video"], tmp_path / "o.mp3", [("bitrate", str(kbps))])
    assert mp3_bitrate(tmp_path / "o.mp3") == pytest.approx(kbps * 1000, rel=0.02)
    assert float(probe["format"]["duration"]) == pytest.approx(SECONDS, abs=0.1)  # type: ignore[index]


async def test_quality_is_variable(media: dict[str, Path], tmp_path: Path) -> None:
    await convert(media["video"], tmp_path / "best.mp3", [("quality", "0")])
    await convert(media["video"], tmp_path / "small.mp3", [("quality", "9")])
    assert (tmp_path / "best.mp3").stat().st_size > 2 * (tmp_path / "small.mp3").stat().st_size


async def test_sample_rate_and_channels(media: dict[str, Path], tmp_path: Path) -> None:
    fields = [("sample_rate", "22050"), ("channels", "1")]
    _, probe = await convert(media["video"], tmp_path / "o.mp3", fields)
    assert (audio(probe)["sample_rate"], audio(probe)["channels"]) == ("22050", 1)


async def test_a_trim_is_exact_within_50_ms(media: dict[str, Path], tmp_path: Path) -> None:
    result, probe = await convert(
        media["video"], tmp_path / "o.mp3", [("start", "2.25"), ("end", "7.5")]
    )
    assert float(probe["format"]["duration"]) == pytest.approx(5.25, abs=0.05)  # type: ignore[index]
    assert result.duration_seconds == pytest.approx(5.25, abs=0.05)
    # An end past the media's end keeps everything after start.
    _, tail = await convert(media["video"], tmp_path / "t.mp3", [("start", "10"), ("end", "99")])
    assert float(tail["format"]["duration"]) == pytest.approx(SECONDS - 10, abs=0.05)  # type: ignore[index]


async def test_a_start_past_the_end_fails_clearly(media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        await convert(media["video"], tmp_path / "o.mp3", [("start", "30")])
    assert caught.value.code == FailureCode.TRIM_OUT_OF_RANGE
    assert "30" in caught.value.reason
    assert not (tmp_path / "o.mp3").exists()


@pytest.mark.parametrize("name", ["video", "peaky"])
async def test_loudness_reaches_the_target_with_the_peak_under_minus_one(
    media: dict[str, Path], tmp_path: Path, name: str
) -> None:
    result, _ = await convert(media[name], tmp_path / "o.mp3", [("loudness", "-16")])
    integrated, peak = loudness_of(tmp_path / "o.mp3")
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0
    report = result.loudness
    assert report is not None
    assert report.mode == ("linear" if name == "video" else "dynamic")
    assert report.output_lufs == pytest.approx(integrated, abs=1.0)
    assert report.input_lufs < -20.0  # the sources are quieter than the target


async def test_tags_are_written_and_the_sources_kept(
    media: dict[str, Path], tmp_path: Path
) -> None:
    fields = [("title", "Grüße — ein Vortrag"), ("album", "Lectures"), ("year", "2024")]
    fields += [("track", "3/12"), ("comment", "live")]
    _, probe = await convert(media["video"], tmp_path / "o.mp3", fields)
    tags = probe["format"]["tags"]  # type: ignore[index]
    assert tags["title"] == "Grüße — ein Vortrag"
    assert (tags["album"], tags["date"], tags["track"]) == ("Lectures", "2024", "3/12")
    assert tags["artist"] == "Source artist"  # not asked for: the source's own
    assert (tmp_path / "o.mp3").read_bytes()[:4] == b"ID3\x03"


async def test_the_embedded_cover_is_kept_unless_none(
    media: dict[str, Path], tmp_path: Path
) -> None:
    _, probe = await convert(media["song"], tmp_path / "auto.mp3", [])
    [cover] = pictures(probe)
    assert cover["disposition"]["attached_pic"] == 1  # type: ignore[index]
    assert (cover["codec_name"], cover["width"]) == ("mjpeg", 300)
    _, bare = await convert(media["song"], tmp_path / "none.mp3", [("cover", "none")])
    assert pictures(bare) == []


async def test_a_frame_of_the_video_becomes_the_cover(
    media: dict[str, Path], tmp_path: Path
) -> None:
    _, probe = await convert(media["video"], tmp_path / "o.mp3", [("cover", "frame")])
    [cover] = pictures(probe)
    assert cover["disposition"]["attached_pic"] == 1  # type: ignore[index]
    assert (cover["width"], cover["height"]) == (600, 338)  # 1280x720, long side 600
    # Without a video to take it from, the MP3 simply has no cover.
    _, song = await convert(media["peaky"], tmp_path / "p.mp3", [("cover", "frame")])
    assert pictures(song) == []


async def test_the_chosen_audio_track(media: dict[str, Path], tmp_path: Path) -> None:
    _, probe = await convert(media["video"], tmp_path / "o.mp3", [("audio_track", "1")])
    assert (audio(probe)["channels"], audio(probe)["sample_rate"]) == (1, "22050")
    with pytest.raises(MediaError) as caught:
        await convert(media["video"], tmp_path / "x.mp3", [("audio_track", "2")])
    assert caught.value.code == FailureCode.NO_SUCH_AUDIO_TRACK
    assert "2 audio streams" in caught.value.reason


def audio_md5(path: Path) -> str:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip()


async def test_an_mp3_with_new_tags_is_copied_not_reencoded(
    media: dict[str, Path], tmp_path: Path
) -> None:
    _, probe = await convert(media["mp3"], tmp_path / "o.mp3", [("title", "Retitled")])
    assert probe["format"]["tags"]["title"] == "Retitled"  # type: ignore[index]
    assert audio_md5(tmp_path / "o.mp3") == audio_md5(media["mp3"])
    await convert(media["mp3"], tmp_path / "r.mp3", [("bitrate", "64")])
    assert audio_md5(tmp_path / "r.mp3") != audio_md5(media["mp3"])


async def test_the_podcast_preset(media: dict[str, Path], tmp_path: Path) -> None:
    result, probe = await convert(media["song"], tmp_path / "o.mp3", [("preset", "podcast")])
    stream = audio(probe)
    assert (stream["sample_rate"], stream["channels"]) == ("44100", 2)
    assert mp3_bitrate(tmp_path / "o.mp3") == pytest.approx(128_000, rel=0.02)
    integrated, peak = loudness_of(tmp_path / "o.mp3")
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0
    assert result.loudness is not None
    assert result.loudness.target_lufs == -16.0


async def test_the_speech_preset(media: dict[str, Path], tmp_path: Path) -> None:
    _, probe = await convert(media["video"], tmp_path / "o.mp3", [("preset", "speech")])
    assert audio(probe)["channels"] == 1
    assert mp3_bitrate(tmp_path / "o.mp3") == pytest.approx(64_000, rel=0.02)
    integrated, _ = loudness_of(tmp_path / "o.mp3")
    assert integrated == pytest.approx(-19.0, abs=1.0)


async def test_a_stream_converts_with_options_that_need_no_whole_file(
    media: dict[str, Path], tmp_path: Path
) -> None:
    converter = transcoder()
    src = tmp_path / "talk.mkv"
    run_ffmpeg(["-i", str(media["video"]), "-map", "0", "-c", "copy", str(src)])
    data = src.read_bytes()
    info = await converter.probe_head(data[: 256 * 1024], tmp_path)

    async def chunks():  # type: ignore[no-untyped-def]
        for at in range(0, len(data), 65536):
            yield data[at : at + 65536]

    options = ConversionOptions(bitrate=96, start=1, end=5, title="Streamed")
    result = await converter.convert_stream(chunks(), tmp_path / "o.mp3", info, None, None, options)
    probe = ffprobe_json(tmp_path / "o.mp3")
    assert result.duration_seconds == pytest.approx(4.0, abs=0.05)
    assert probe["format"]["tags"]["title"] == "Streamed"
    with pytest.raises(ValueError, match="whole file"):
        await converter.convert_stream(
            chunks(), tmp_path / "x.mp3", info, None, None, ConversionOptions(loudness=-16)
        )
