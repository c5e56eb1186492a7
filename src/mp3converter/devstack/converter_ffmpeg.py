"""The converter's ffmpeg on a development machine: the build `make bootstrap` makes in .tools/.

It is the image's own build (scripts/ffmpeg-build.sh), so the local stack, the tests and the
benchmarks run the ffmpeg that ships. Debian's ffmpeg on the PATH stays for making media.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mp3converter.devstack.secantus import tool_roots

TOOL_DIR = Path(".tools/ffmpeg")


@dataclass(frozen=True)
class FfmpegBinaries:
    """The two programs the converter runs."""

    ffmpeg: str
    ffprobe: str

    def environment(self) -> dict[str, str]:
        """The settings that make a converter run them."""
        return {"FFMPEG_BIN": self.ffmpeg, "FFPROBE_BIN": self.ffprobe}


def converter_ffmpeg() -> FfmpegBinaries:
    """$FFMPEG_BIN and $FFPROBE_BIN if set, else the tool build, else the PATH's ffmpeg."""
    tool = _tool_build()
    return FfmpegBinaries(
        ffmpeg=os.environ.get("FFMPEG_BIN") or (str(tool / "ffmpeg") if tool else "ffmpeg"),
        ffprobe=os.environ.get("FFPROBE_BIN") or (str(tool / "ffprobe") if tool else "ffprobe"),
    )


def _tool_build() -> Path | None:
    for root in tool_roots():
        bin_dir = root / TOOL_DIR / "bin"
        if (bin_dir / "ffmpeg").exists() and (bin_dir / "ffprobe").exists():
            return bin_dir
    return None
