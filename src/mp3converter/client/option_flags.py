"""The conversion option flags of `mp3converter convert` and the upload form fields they become.

Each flag's dest is the form field's name (README "Conversion options"). The lists of allowed
values are copied from the server's domain rather than imported (the client imports nothing of
the server); a unit test keeps them equal. The server checks everything again and names each
bad field, but refusing here saves uploading a whole video to learn it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
COVERS = ("auto", "frame", "none")
# The form fields, in the order they are sent (all before the file).
OPTION_FIELDS = (
    "preset",
    "bitrate",
    "quality",
    "sample_rate",
    "channels",
    "start",
    "end",
    "loudness",
    "title",
    "artist",
    "album",
    "year",
    "comment",
    "track",
    "cover",
    "audio_track",
)


def _number(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], str]:
    """An argparse type that checks a number's range and keeps the text as typed."""

    def check(text: str) -> str:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not within {low:g} … {high:g}")
        return text

    return check


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """Add one flag per conversion option."""
    group = parser.add_argument_group("conversion options (see README: Conversion options)")
    add = group.add_argument
    add("--preset", metavar="NAME", help="podcast, speech, music-high, small (GET /presets)")
    mode = group.add_mutually_exclusive_group()
    mode.add_argument(
        "--bitrate", type=int, choices=MP3_BITRATES, metavar="KBPS", help="constant bit rate"
    )
    mode.add_argument(
        "--quality", type=_number(int, 0, 9), metavar="0-9", help="VBR quality, 0 is best"
    )
    add("--sample-rate", dest="sample_rate", type=int, choices=MP3_SAMPLE_RATES, metavar="HZ")
    add("--channels", type=int, choices=(1, 2), help="1 mono, 2 stereo")
    add("--start", type=_number(float, 0, 7 * 24 * 3600), metavar="SECONDS")
    add("--end", type=_number(float, 0, 7 * 24 * 3600), metavar="SECONDS")
    add("--loudness", type=_number(float, -30, -5), metavar="LUFS", help="-30 … -5, e.g. -16")
    add("--title")
    add("--artist")
    add("--album")
    add("--year", type=_number(int, 1000, 9999))
    add("--comment")
    add("--track", metavar="N[/TOTAL]")
    add("--cover", choices=COVERS, help="auto (the source's), frame (a still) or none")
    add("--audio-track", dest="audio_track", type=_number(int, 0, 63), metavar="N")


def option_fields(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The form fields of the flags given, in OPTION_FIELDS order."""
    fields = []
    for name in OPTION_FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            fields.append((name, str(value)))
    return fields
