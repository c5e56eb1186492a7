"""Which ffmpeg the local stack, the tests and the benchmarks give the converter."""

from __future__ import annotations

from pathlib import Path

import pytest

from mp3converter.devstack.converter_ffmpeg import converter_ffmpeg


def fake_build(root: Path) -> Path:
    bin_dir = root / ".tools" / "ffmpeg" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("ffmpeg", "ffprobe"):
        (bin_dir / name).write_text("#!/bin/sh\n")
    return bin_dir


def test_the_tool_build_is_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = fake_build(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FFMPEG_BIN", raising=False)
    monkeypatch.delenv("FFPROBE_BIN", raising=False)

    chosen = converter_ffmpeg()

    assert (chosen.ffmpeg, chosen.ffprobe) == (str(bin_dir / "ffmpeg"), str(bin_dir / "ffprobe"))
    assert chosen.environment() == {"FFMPEG_BIN": chosen.ffmpeg, "FFPROBE_BIN": chosen.ffprobe}


def test_the_settings_win_over_the_tool_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_build(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FFMPEG_BIN", "/opt/other/ffmpeg")
    monkeypatch.setenv("FFPROBE_BIN", "/opt/other/ffprobe")

    chosen = converter_ffmpeg()

    assert (chosen.ffmpeg, chosen.ffprobe) == ("/opt/other/ffmpeg", "/opt/other/ffprobe")
