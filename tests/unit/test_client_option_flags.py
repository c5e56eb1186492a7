"""`mp3converter convert` flags become exactly the upload form fields the server accepts."""

from __future__ import annotations

import pytest

from mp3converter.client import option_flags
from mp3converter.client.commands import client_parser
from mp3converter.domain import conversion_options as domain
from mp3converter.domain.conversion_options import parse_options


def _fields(*flags: str) -> list[tuple[str, str]]:
    args = client_parser().parse_args(["convert", "talk.mp4", *flags])
    return option_flags.option_fields(args)


def test_the_client_knows_the_same_options_and_values_as_the_server() -> None:
    assert set(option_flags.OPTION_FIELDS) == set(domain.OPTION_FIELDS)
    assert option_flags.MP3_BITRATES == domain.MP3_BITRATES
    assert option_flags.MP3_SAMPLE_RATES == domain.MP3_SAMPLE_RATES
    assert set(option_flags.COVERS) == {cover.value for cover in domain.Cover}


def test_no_flag_sends_no_field() -> None:
    assert _fields() == []


def test_every_flag_maps_to_its_field_in_a_fixed_order_and_the_server_accepts_them() -> None:
    fields = _fields(
        "--audio-track", "1", "--cover", "frame", "--track", "3/12", "--comment", "c",
        "--year", "2024", "--album", "Al", "--artist", "Ana", "--title", "Épisode 12",
        "--loudness", "-16", "--end", "20.5", "--start", "1.25", "--channels", "1",
        "--sample-rate", "22050", "--bitrate", "64", "--preset", "podcast",
    )  # fmt: skip
    assert fields == [
        ("preset", "podcast"),
        ("bitrate", "64"),
        ("sample_rate", "22050"),
        ("channels", "1"),
        ("start", "1.25"),
        ("end", "20.5"),
        ("loudness", "-16"),
        ("title", "Épisode 12"),
        ("artist", "Ana"),
        ("album", "Al"),
        ("year", "2024"),
        ("comment", "c"),
        ("track", "3/12"),
        ("cover", "frame"),
        ("audio_track", "1"),
    ]
    options = parse_options(fields)
    assert (options.bitrate, options.sample_rate, options.channels) == (64, 22050, 1)
    assert (options.start, options.end, options.loudness) == (1.25, 20.5, -16.0)
    assert options.title == "Épisode 12"
    assert options.audio_track == 1


def test_quality_is_sent_as_typed() -> None:
    assert _fields("--quality", "0") == [("quality", "0")]
    assert parse_options(_fields("--quality", "0")).quality == 0


@pytest.mark.parametrize(
    "flags",
    [
        ["--bitrate", "65"],
        ["--bitrate", "64", "--quality", "2"],
        ["--quality", "10"],
        ["--sample-rate", "96000"],
        ["--channels", "3"],
        ["--loudness", "-40"],
        ["--start", "soon"],
        ["--cover", "photo"],
        ["--year", "99"],
        ["--audio-track", "64"],
    ],
)
def test_values_the_server_would_refuse_are_refused_before_uploading(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        _fields(*flags)
    assert exit_.value.code == 2
    assert flags[0] in capsys.readouterr().err
