"""Conversion options as form fields: parsing, presets, and the errors naming each bad field."""

from __future__ import annotations

import pytest

from mp3converter.domain.conversion_options import (
    ConversionOptions,
    Cover,
    InvalidOptions,
    nearest_mp3_rate,
    parse_options,
)
from mp3converter.domain.presets import PRESETS


def bad_fields(fields: list[tuple[str, str]]) -> dict[str, str]:
    with pytest.raises(InvalidOptions) as caught:
        parse_options(fields)
    return {error.field: error.detail for error in caught.value.errors}


def test_no_fields_are_the_defaults() -> None:
    options = parse_options([])
    assert options == ConversionOptions()
    assert not options.changes_audio
    assert not options.needs_whole_file
    assert options.public() == {"cover": "auto", "audio_track": 0}


def test_every_field_parses_from_text() -> None:
    options = parse_options(
        [
            ("bitrate", "192"),
            ("sample_rate", "22050"),
            ("channels", "1"),
            ("start", "1.5"),
            ("end", "30"),
            ("loudness", "-16"),
            ("title", "Ünïcode talk: part 1 = the start"),
            ("artist", "Zoë"),
            ("album", "Lectures"),
            ("year", "2024"),
            ("comment", "recorded live"),
            ("track", "3/12"),
            ("cover", "frame"),
            ("audio_track", "1"),
        ]
    )
    assert (options.bitrate, options.sample_rate, options.channels) == (192, 22050, 1)
    assert (options.start, options.end, options.loudness) == (1.5, 30.0, -16.0)
    assert options.cover is Cover.FRAME
    assert options.audio_track == 1
    assert options.tags() == {
        "title": "Ünïcode talk: part 1 = the start",
        "artist": "Zoë",
        "album": "Lectures",
        "date": "2024",
        "comment": "recorded live",
        "track": "3/12",
    }
    assert options.changes_audio
    assert options.needs_whole_file
    assert options.trimmed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bitrate", "100"),
        ("bitrate", "128k"),
        ("bitrate", "-128"),
        ("quality", "10"),
        ("quality", "2.5"),
        ("sample_rate", "44000"),
        ("channels", "3"),
        ("start", "-1"),
        ("start", "nan"),
        ("start", "inf"),
        ("end", "0"),
        ("loudness", "-31"),
        ("loudness", "0"),
        ("year", "24"),
        ("track", "0"),
        ("track", "3/x"),
        ("cover", "random"),
        ("audio_track", "-1"),
        ("audio_track", "64"),
        ("title", "x" * 201),
        ("title", "line\nbreak"),
        ("artist", "para\u2029graph"),
        ("album", "bidi\u202eoverride"),
        ("comment", " padded"),
        ("preset", "loud"),
    ],
)
def test_a_bad_value_is_named_with_its_field(field: str, value: str) -> None:
    errors = bad_fields([(field, value)])
    assert list(errors) == [field]
    assert errors[field]


def test_every_bad_field_is_named_at_once() -> None:
    errors = bad_fields([("bitrate", "1"), ("channels", "5"), ("colour", "red")])
    assert set(errors) == {"bitrate", "channels", "colour"}
    assert "unknown field" in errors["colour"]


def test_bitrate_and_quality_together_are_refused() -> None:
    errors = bad_fields([("bitrate", "128"), ("quality", "2")])
    assert set(errors) == {"bitrate", "quality"}
    assert "not both" in errors["bitrate"]


def test_end_must_follow_start() -> None:
    assert set(bad_fields([("start", "10"), ("end", "10")])) == {"end"}
    assert set(bad_fields([("start", "10"), ("end", "5")])) == {"end"}
    assert parse_options([("end", "5")]).end == 5.0


def test_a_field_given_twice_is_refused() -> None:
    assert "more than once" in bad_fields([("title", "a"), ("title", "b")])["title"]


def test_blank_fields_are_not_set() -> None:
    assert parse_options([("bitrate", ""), ("title", "  ")]) == ConversionOptions()


def test_a_preset_sets_its_options() -> None:
    podcast = parse_options([("preset", "podcast")])
    assert podcast.preset == "podcast"
    assert (podcast.bitrate, podcast.sample_rate, podcast.channels) == (128, 44100, 2)
    assert podcast.loudness == -16.0
    speech = parse_options([("preset", "speech")])
    assert (speech.channels, speech.bitrate, speech.loudness) == (1, 64, -19.0)
    assert parse_options([("preset", "music-high")]).quality == 0
    small = parse_options([("preset", "small")])
    assert (small.quality, small.channels) == (7, 1)


def test_explicit_fields_override_the_preset() -> None:
    options = parse_options([("preset", "podcast"), ("loudness", "-14"), ("channels", "1")])
    assert (options.loudness, options.channels, options.bitrate) == (-14.0, 1, 128)


def test_an_explicit_quality_replaces_the_presets_bitrate() -> None:
    options = parse_options([("preset", "podcast"), ("quality", "4")])
    assert (options.quality, options.bitrate) == (4, None)
    options = parse_options([("preset", "small"), ("bitrate", "96")])
    assert (options.quality, options.bitrate, options.channels) == (None, 96, 1)


def test_every_preset_is_valid_options() -> None:
    for name, preset in PRESETS.items():
        assert ConversionOptions.model_validate({**preset.options, "preset": name})


def test_tags_and_cover_alone_do_not_change_the_audio() -> None:
    options = parse_options([("title", "T"), ("cover", "none"), ("audio_track", "1")])
    assert not options.changes_audio


@pytest.mark.parametrize(
    ("rate", "nearest"),
    [(None, 44100), (44100, 44100), (96000, 48000), (88200, 48000), (6000, 8000), (23000, 22050)],
)
def test_the_nearest_mp3_rate(rate: int | None, nearest: int) -> None:
    assert nearest_mp3_rate(rate) == nearest
