"""Pure logic of the ffmpeg adapter: argv, probe JSON, the no-audio guard, error reasons."""

from pathlib import Path
from typing import Any

import pytest

from mp3converter.adapters.ffmpeg import STDIN, FfmpegTranscoder
from mp3converter.adapters.media_errors import MediaError, reason_from_stderr
from mp3converter.adapters.media_info import AudioStream, MediaInfo, media_info_from_probe
from mp3converter.domain.jobs import FailureCode

SRC = "file:/work/in.mp4"
DST = Path("/work/out.mp3")
AAC = MediaInfo(duration_seconds=4.0, has_audio=True, audio_codec="aac")
MP3 = MediaInfo(duration_seconds=4.0, has_audio=True, audio_codec="mp3")


def contains(args: list[str], part: list[str]) -> bool:
    return any(args[i : i + len(part)] == part for i in range(len(args)))


def test_argv_reads_src_and_writes_first_audio_stream_as_mp3_to_dst() -> None:
    args = FfmpegTranscoder(ffmpeg="/opt/ffmpeg").build_args(SRC, DST, AAC)

    assert args[:4] == ["/opt/ffmpeg", "-hide_banner", "-nostdin", "-y"]
    assert contains(args, ["-i", "file:/work/in.mp4"])
    assert contains(args, ["-map", "0:a:0", "-vn", "-sn", "-dn"])
    assert contains(args, ["-progress", "pipe:1", "-nostats"])
    assert args[-3:] == ["-f", "mp3", "file:/work/out.mp3"]


def test_non_mp3_audio_is_encoded_with_lame_at_the_configured_vbr_quality() -> None:
    args = FfmpegTranscoder(vbr_quality=5).build_args(SRC, DST, AAC)

    assert contains(args, ["-c:a", "libmp3lame", "-q:a", "5"])
    assert "copy" not in args


def test_mp3_audio_is_copied_without_reencoding() -> None:
    args = FfmpegTranscoder().build_args(SRC, DST, MP3)

    assert contains(args, ["-c:a", "copy"])
    assert "libmp3lame" not in args


def test_input_may_only_use_the_file_protocol() -> None:
    args = FfmpegTranscoder().build_args(SRC, DST, AAC)

    assert args.index("-protocol_whitelist") < args.index("-i")
    assert contains(args, ["-protocol_whitelist", "file"])


async def test_no_audio_fails_before_running_ffmpeg(tmp_path: Path) -> None:
    silent = MediaInfo(duration_seconds=4.0, has_audio=False, audio_codec=None)
    # A missing binary would raise FileNotFoundError if the guard let the call through.
    converter = FfmpegTranscoder(ffmpeg=str(tmp_path / "no-ffmpeg"))

    with pytest.raises(MediaError) as caught:
        await converter.convert(tmp_path / "in.mp4", tmp_path / "out.mp3", silent)

    assert caught.value.code == FailureCode.NO_AUDIO


def probe_json(streams: list[dict[str, Any]], duration: str = "6.000000") -> dict[str, Any]:
    return {"streams": streams, "format": {"format_name": "mov,mp4", "duration": duration}}


def test_probe_prefers_the_audio_stream_duration() -> None:
    video = {"codec_type": "video", "codec_name": "h264", "duration": "6.000000"}
    audio = {"codec_type": "audio", "codec_name": "aac", "duration": "5.000000"}

    info = media_info_from_probe(probe_json([video, audio]))

    assert info == MediaInfo(
        duration_seconds=5.0,
        has_audio=True,
        audio_codec="aac",
        audio_streams=(AudioStream("aac", 5.0),),
        has_video=True,
    )


def test_probe_falls_back_to_the_format_duration() -> None:
    info = media_info_from_probe(probe_json([{"codec_type": "audio", "codec_name": "mp3"}]))

    assert info.duration_seconds == 6.0
    assert info.audio_codec == "mp3"


def test_probe_without_audio_stream_or_duration() -> None:
    info = media_info_from_probe(probe_json([{"codec_type": "video"}], duration="N/A"))

    assert info == MediaInfo(
        duration_seconds=None, has_audio=False, audio_codec=None, has_video=True
    )


def test_reason_is_the_last_meaningful_stderr_line_without_context_prefix() -> None:
    stderr = (
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55e0770f2280] moov atom not found\n"
        "Stream map '0:a:0' matches no streams.\n"
        "To ignore this, add a trailing '?' to the map.\n"
        "Conversion failed!\n\n"
    )

    assert reason_from_stderr(stderr, "fallback") == "Stream map '0:a:0' matches no streams."
    assert reason_from_stderr(stderr.splitlines()[0], "fallback") == "moov atom not found"


def test_reason_is_shortened_or_falls_back() -> None:
    assert len(reason_from_stderr("x" * 1000, "fallback")) == 200
    assert reason_from_stderr("\n  \nConversion failed!\n", "fallback") == "fallback"


def test_media_error_keeps_code_and_reason() -> None:
    error = MediaError(FailureCode.NO_AUDIO, "no sound")

    assert (error.code, error.reason, str(error)) == (
        FailureCode.NO_AUDIO,
        "no sound",
        "no-audio: no sound",
    )


def test_a_video_still_arriving_is_read_from_stdin_with_only_the_pipe_protocol() -> None:
    args = FfmpegTranscoder().build_args(STDIN, DST, AAC)

    assert contains(args, ["-i", "pipe:0"])
    assert contains(args, ["-protocol_whitelist", "pipe"])
    assert "file" not in args[: args.index("-i")]
