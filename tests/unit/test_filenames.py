"""Names of files as the user sees them: cleaning, the MP3 name and the download header."""

import re
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mp3converter.domain.filenames import (
    MAX_NAME,
    clean_filename,
    content_disposition,
    header_text,
    mp3_name,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("holiday.mp4", "holiday.mp4"),
        ("/home/ann/videos/holiday.mp4", "holiday.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\Ann\\Videos\\holiday.mp4", "holiday.mp4"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("\\\\server\\share\\clip.mov", "clip.mov"),
        ("C:evil.mp4", "evil.mp4"),
        ("mixed/dirs\\and/names\\final.mkv", "final.mkv"),
        ("  spaced name.mp4  ", "spaced name.mp4"),
        ("Fête à la plage 🎉.mp4", "Fête à la plage 🎉.mp4"),
    ],
)
def test_clean_filename_keeps_only_the_last_component(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("bad\x00name.mp4", "badname.mp4"),
        ("line\r\nbreak.mp4", "linebreak.mp4"),
        ("tab\there.mp4", "tabhere.mp4"),
        ("bell\x07\x1b[31m.mp4", "bell[31m.mp4"),
        ("evil\u202egpj.mp4", "evilgpj.mp4"),  # right-to-left override (a format character)
        ("zero\u200bwidth.mp4", "zerowidth.mp4"),
        ("del\x7f.mp4", "del.mp4"),
    ],
)
def test_clean_filename_removes_control_characters(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", "/", ".", "\u200b"])
def test_clean_filename_of_nothing_is_video(raw: str) -> None:
    assert clean_filename(raw) == "video"


def test_clean_filename_is_bounded_in_length() -> None:
    assert len(clean_filename("x" * 10_000 + ".mp4")) == MAX_NAME == 255
    assert clean_filename("a" * 255) == "a" * 255


@pytest.mark.parametrize(
    ("original", "name"),
    [
        ("holiday.mp4", "holiday.mp3"),
        ("archive.tar.mkv", "archive.tar.mp3"),
        ("noextension", "noextension.mp3"),
        ("C:\\Videos\\talk.webm", "talk.mp3"),
        ("", "video.mp3"),
        ("Fête.mov", "Fête.mp3"),
    ],
)
def test_mp3_name(original: str, name: str) -> None:
    assert mp3_name(original) == name


def _parts(header: str) -> tuple[str, str]:
    """The plain filename and the decoded filename* of an attachment header."""
    match = re.fullmatch(r'attachment; filename="([^"]*)"; filename\*=UTF-8\'\'(\S+)', header)
    assert match is not None, header
    return match.group(1), unquote(match.group(2), encoding="utf-8", errors="strict")


def test_content_disposition_for_ascii_names() -> None:
    header = content_disposition("holiday.mp3")
    assert header == "attachment; filename=\"holiday.mp3\"; filename*=UTF-8''holiday.mp3"


@pytest.mark.parametrize(
    "name",
    ['say "hi".mp3', "back\\slash.mp3", "semi;colon=x.mp3", "with space.mp3", "100%.mp3"],
)
def test_content_disposition_with_special_ascii(name: str) -> None:
    plain, extended = _parts(content_disposition(name))
    assert '"' not in plain
    assert "\\" not in plain
    assert extended == name


@pytest.mark.parametrize(
    "name",
    ["Fête à la plage.mp3", "日本語の動画.mp3", "emoji 🎉🎧.mp3", 'Ωmega\'s "quoted".mp3'],
)
def test_content_disposition_for_unicode_names(name: str) -> None:
    header = content_disposition(name)
    header.encode("ascii")  # a header value must be plain ASCII
    plain, extended = _parts(header)
    assert extended == name
    assert plain.isascii()
    assert plain.endswith(".mp3")


def test_header_of_a_cleaned_name_cannot_be_split() -> None:
    header = content_disposition(mp3_name("evil\r\nSet-Cookie: a=b.mp4"))
    assert "\r" not in header
    assert "\n" not in header


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\u2028b.mp4", "a b.mp4"),
        ("a\u2029b.mp4", "a b.mp4"),
        ("a\x85b.mp4", "ab.mp4"),
    ],
)
def test_clean_filename_removes_line_and_paragraph_separators(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Your MP3: a\u2028b.mp4", "Your MP3: a b.mp4"),
        ("x\r\nBcc: y", "x Bcc: y"),
        ("  tabs\tand\x00nul  ", "tabs and nul"),
        ("Fête 日本", "Fête 日本"),
    ],
)
def test_header_text_is_one_line(raw: str, text: str) -> None:
    assert header_text(raw) == text


@given(st.text())
def test_header_text_never_splits(raw: str) -> None:
    assert len(header_text(raw).splitlines()) <= 1
