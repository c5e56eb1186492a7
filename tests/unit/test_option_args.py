"""The ffmpeg command lines the options build, one class of combination at a time, and the
loudness plan and its parsing of ffmpeg's reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from mp3converter.adapters.ffmpeg_args import (
    STDIN,
    conversion_args,
    frame_args,
    measure_args,
    window,
)
from mp3converter.adapters.media_info import AudioStream, MediaInfo
from mp3converter.domain.conversion_options import ConversionOptions, Cover
from mp3converter.domain.loudness import (
    LoudnessMode,
    Measurement,
    parse_ebur128_summary,
    parse_loudnorm_output,
    plan,
    report,
)

SRC = "file:/work/in.mp4"
DST = Path("/work/out.mp3")
AAC = MediaInfo(
    duration_seconds=60.0,
    has_audio=True,
    audio_codec="aac",
    audio_streams=(AudioStream("aac", 60.0, 96000), AudioStream("ac3", 60.0, 48000)),
    cover_index=2,
    has_video=True,
)
MP3 = MediaInfo(duration_seconds=60.0, has_audio=True, audio_codec="mp3")


def args_for(info: MediaInfo = AAC, **options: object) -> list[str]:
    return conversion_args(
        "ffmpeg", SRC, DST, info, ConversionOptions.model_validate(options), max_seconds=100.0
    )


def contains(args: list[str], part: list[str]) -> bool:
    return any(args[i : i + len(part)] == part for i in range(len(args)))


def value_of(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None


def test_defaults_keep_todays_command() -> None:
    args = args_for()
    assert contains(args, ["-c:a", "libmp3lame", "-q:a", "2"])
    assert contains(args, ["-map", "0:a:0"])
    assert value_of(args, "-t") == "101"
    for flag in ("-af", "-ar", "-ac", "-b:a", "-metadata"):
        assert flag not in args
    assert contains(args, ["-map_metadata", "0"])


def test_bitrate_is_constant_and_quality_variable() -> None:
    assert contains(args_for(bitrate=128), ["-c:a", "libmp3lame", "-b:a", "128k"])
    assert "-q:a" not in args_for(bitrate=128)
    assert contains(args_for(quality=7), ["-q:a", "7"])


def test_rate_and_channels() -> None:
    args = args_for(sample_rate=22050, channels=1)
    assert value_of(args, "-ar") == "22050"
    assert value_of(args, "-ac") == "1"


def test_a_trim_is_sample_accurate_and_bounds_the_length() -> None:
    args = args_for(start=1.5, end=10)
    assert value_of(args, "-af") == "atrim=start=1.500000:end=10.000000,asetpts=PTS-STARTPTS"
    assert value_of(args, "-t") == "8.5"
    assert value_of(args_for(start=2), "-af") == "atrim=start=2.000000,asetpts=PTS-STARTPTS"


def test_the_window_of_a_trim() -> None:
    assert window(ConversionOptions(start=10, end=20), 60.0).seconds == 10.0
    assert window(ConversionOptions(start=10, end=90), 60.0).seconds == 50.0
    assert window(ConversionOptions(start=70), 60.0).seconds == 0.0
    assert window(ConversionOptions(start=5), None).seconds is None
    assert window(ConversionOptions(), 60.0).seconds == 60.0


def test_tags_are_their_own_argv_items() -> None:
    args = args_for(title="a=b; rm -rf /", year=2024, track="2/9")
    assert contains(args, ["-metadata", "title=a=b; rm -rf /"])
    assert contains(args, ["-metadata", "date=2024"])
    assert contains(args, ["-metadata", "track=2/9"])
    assert value_of(args, "-id3v2_version") == "3"


def test_an_mp3_is_copied_unless_its_audio_changes() -> None:
    assert contains(args_for(MP3), ["-c:a", "copy"])
    assert contains(args_for(MP3, title="T", cover="none"), ["-c:a", "copy"])
    for changing in ({"bitrate": 64}, {"quality": 4}, {"channels": 1}, {"start": 1}):
        assert "copy" not in args_for(MP3, **changing)


def test_the_chosen_audio_track_is_mapped() -> None:
    assert contains(args_for(audio_track=1), ["-map", "0:a:1"])


def test_the_embedded_cover_is_kept_by_default_and_dropped_with_none() -> None:
    auto = args_for()
    assert contains(auto, ["-map", "0:2", "-c:v", "copy", "-disposition:v:0", "attached_pic"])
    assert "-vn" not in auto
    none = args_for(cover="none")
    assert "-vn" in none
    assert "0:2" not in none


def test_a_taken_frame_is_a_second_input_of_jpeg_only() -> None:
    options = ConversionOptions(cover=Cover.FRAME)
    frame = Path("/work/cover.jpg")
    args = conversion_args("ffmpeg", SRC, DST, AAC, options, max_seconds=100.0, frame=frame)
    assert contains(
        args, ["-protocol_whitelist", "file", "-f", "jpeg_pipe", "-i", "file:/work/cover.jpg"]
    )
    assert contains(args, ["-map", "1:v:0", "-c:v", "copy"])


def test_frame_and_measure_commands() -> None:
    frame = frame_args("ffmpeg", SRC, 6.0, Path("/work/cover.jpg"))
    assert contains(frame, ["-ss", "6.000", "-i", SRC, "-map", "0:V:0", "-frames:v", "1"])
    assert "600" in (value_of(frame, "-vf") or "")
    options = ConversionOptions(loudness=-16, start=1, end=9, audio_track=1)
    measure = measure_args("ffmpeg", SRC, options, 100.0)
    assert contains(measure, ["-map", "0:a:1"])
    assert value_of(measure, "-t") == "8"  # reading stops at the trim's end
    assert value_of(measure, "-af") == (
        "atrim=start=1.000000:end=9.000000,asetpts=PTS-STARTPTS,ebur128=peak=true:framelog=verbose"
    )
    assert measure[-3:] == ["-f", "null", "-"]
    assert measure.index("-format_whitelist") < measure.index("-i")


def test_a_stream_reads_only_the_pipe() -> None:
    args = conversion_args("ffmpeg", STDIN, DST, AAC, ConversionOptions(), max_seconds=100.0)
    assert contains(args, ["-protocol_whitelist", "pipe"])


QUIET = Measurement(integrated=-30.0, true_peak=-20.0, lra=5.0, threshold=-40.0)
PEAKY = Measurement(integrated=-30.0, true_peak=-3.0, lra=5.0, threshold=-40.0)


def test_a_gain_that_keeps_the_peak_under_the_limit_is_linear() -> None:
    chosen = plan(QUIET, -16.0)
    assert chosen.mode is LoudnessMode.LINEAR
    assert chosen.gain_db == pytest.approx(14.0)
    args = conversion_args(
        "ffmpeg", SRC, DST, AAC, ConversionOptions(loudness=-16), max_seconds=100.0, loudness=chosen
    )
    assert value_of(args, "-af") == "volume=14.00dB"
    done = report(chosen, None)
    assert (done.output_lufs, done.output_true_peak_dbtp) == (-16.0, -6.0)


def test_a_gain_that_would_clip_is_dynamic_at_the_source_rate() -> None:
    chosen = plan(PEAKY, -16.0)
    assert chosen.mode is LoudnessMode.DYNAMIC
    options = ConversionOptions(loudness=-16)
    args = conversion_args("ffmpeg", SRC, DST, AAC, options, max_seconds=100.0, loudness=chosen)
    graph = value_of(args, "-af") or ""
    assert graph.startswith("loudnorm=I=-16.0:TP=-1.5:LRA=11.0:measured_I=-30.00")
    assert "measured_thresh=-40.00" in graph
    assert "linear=false" in graph
    assert graph.endswith("aresample=48000")  # 96 kHz source: the nearest MP3 rate
    done = report(chosen, (-16.2, -1.6))
    assert (done.mode, done.output_lufs, done.output_true_peak_dbtp) == ("dynamic", -16.2, -1.6)


def test_silence_is_left_alone() -> None:
    silent = Measurement(integrated=-70.0, true_peak=float("-inf"), lra=0.0, threshold=-70.0)
    chosen = plan(silent, -16.0)
    assert chosen.mode is LoudnessMode.SILENT
    assert report(chosen, None).input_true_peak_dbtp == -144.0


EBUR128 = """[Parsed_ebur128_0 @ 0x5] Summary:

  Integrated loudness:
    I:         -23.4 LUFS
    Threshold: -33.9 LUFS

  Loudness range:
    LRA:         6.1 LU
    Threshold: -44.0 LUFS
    LRA low:   -27.5 LUFS
    LRA high:  -21.4 LUFS

  True peak:
    Peak:       -2.7 dBFS
"""


def test_parse_ebur128_summary() -> None:
    measured = parse_ebur128_summary("noise before\n" + EBUR128)
    assert measured == Measurement(integrated=-23.4, true_peak=-2.7, lra=6.1, threshold=-33.9)
    assert parse_ebur128_summary("Conversion failed!") is None
    silent = EBUR128.replace("-2.7 dBFS", "-inf dBFS").replace("-23.4", "-70.0")
    assert parse_ebur128_summary(silent) == Measurement(-70.0, float("-inf"), 6.1, -33.9)


def test_parse_loudnorm_output() -> None:
    stderr = '{\n\t"input_i" : "-30.00",\n\t"output_i" : "-16.13",\n\t"output_tp" : "-1.52",\n}'
    assert parse_loudnorm_output(stderr) == (-16.13, -1.52)
    assert parse_loudnorm_output("nothing") is None
