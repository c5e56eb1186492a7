"""The tests and the local stack run the converter's own ffmpeg build, the one the image ships."""

from __future__ import annotations

import subprocess

from mp3converter.adapters.media_formats import ALLOWED_DEMUXERS
from tests.media import CONVERTER_FFMPEG

# Image sequences of one picture: the cover of an audio file is read through them; uploads of
# them are refused by the allow-list (tests/integration/test_hostile_media.py).
COVER_DEMUXERS = {"jpeg_pipe", "png_pipe"}


def demuxers(program: str) -> set[str]:
    """The demuxer names a build of ffmpeg or ffprobe has (the first of each line's aliases)."""
    out = subprocess.run(
        [program, "-hide_banner", "-demuxers"], check=True, capture_output=True, text=True
    ).stdout
    lines = out.split("--\n", 1)[1].splitlines()
    return {line.split()[1].split(",")[0] for line in lines if line.split()[0].startswith("D")}


def test_the_converter_build_demuxes_exactly_the_allowed_formats() -> None:
    # Debian's ffmpeg has some 350 demuxers (HLS, DASH, concat, image2, SDP among them); the
    # build of scripts/ffmpeg-build.sh has the allow-list of media_formats and nothing else.
    for program in (CONVERTER_FFMPEG.ffmpeg, CONVERTER_FFMPEG.ffprobe):
        assert demuxers(program) == set(ALLOWED_DEMUXERS) | COVER_DEMUXERS, program


def test_the_converter_build_starts_without_loading_a_codec_library_zoo() -> None:
    out = subprocess.run(
        ["ldd", CONVERTER_FFMPEG.ffprobe], check=True, capture_output=True, text=True
    ).stdout
    libraries = [line.split()[0] for line in out.splitlines() if "=>" in line]
    assert len(libraries) < 10, libraries
