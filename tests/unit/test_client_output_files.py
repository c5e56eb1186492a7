"""Where the client writes an MP3: a safe name, a free name, never a replaced file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mp3converter.client.output_files import safe_stem, save_new_file


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("talk.mp4", "talk"),
        ("Ünïcødé vidéo 🎬.mp4", "Ünïcødé vidéo 🎬"),
        ("a.tar.gz", "a.tar"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system.ini", "system"),
        ("C:\\Users\\ana\\talk.mov", "talk"),
        ("/abs/path/clip.mkv", "clip"),
        ("..", "fallback"),
        (".bashrc", "bashrc"),
        ("...mp4", "mp4"),
        ("", "fallback"),
        ("evil\u202egnp.mp4", "evilgnp"),  # right-to-left override
        ("line\nbreak\r\x00.mp4", "line break"),
        ("tab\there\u2028sep.mp4", "tab here sep"),
        ('what?*:<>|".mp4', "what"),
        ("x" * 300 + ".mp4", "x" * 200),
    ],
)
def test_untrusted_names_become_plain_stems(name: str, stem: str) -> None:
    assert safe_stem(name, fallback="fallback") == stem


def _chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts


def test_the_mp3_gets_the_stem_and_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = save_new_file(tmp_path, "talk", _chunks(b"ID3", b"rest"))
    finally:
        os.umask(old)
    assert path == tmp_path / "talk.mp3"
    assert path.read_bytes() == b"ID3rest"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.mp3"]


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "talk.mp3").write_bytes(b"mine")
    (tmp_path / "talk (1).mp3").write_bytes(b"mine too")
    path = save_new_file(tmp_path, "talk", _chunks(b"new"))
    assert path == tmp_path / "talk (2).mp3"
    assert (tmp_path / "talk.mp3").read_bytes() == b"mine"
    assert (tmp_path / "talk (1).mp3").read_bytes() == b"mine too"
    assert path.read_bytes() == b"new"


def test_a_failed_download_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield b"half"
        raise ConnectionError("the server went away")

    with pytest.raises(ConnectionError):
        save_new_file(tmp_path, "talk", broken())
    assert list(tmp_path.iterdir()) == []


def test_the_output_directory_is_created(tmp_path: Path) -> None:
    path = save_new_file(tmp_path / "a" / "b", "clip", _chunks(b"x"))
    assert path == tmp_path / "a" / "b" / "clip.mp3"


def test_a_stem_fits_a_file_name_in_bytes_not_characters(tmp_path: Path) -> None:
    stem = safe_stem("音" * 300 + ".mp4", "x")
    assert len(stem.encode()) <= 200
    assert stem == "音" * len(stem)
    assert save_new_file(tmp_path, stem, [b"ID3"]).name == f"{stem}.mp3"
