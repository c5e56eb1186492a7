"""Test media generated on the spot with ffmpeg's lavfi sources (Debian's full ffmpeg), and the
converter's transcoder on the ffmpeg build that ships (`make bootstrap` makes it in .tools/)."""

import json
import subprocess
from pathlib import Path
from typing import Any

from mp3converter.adapters.ffmpeg import FfmpegTranscoder
from mp3converter.devstack.converter_ffmpeg import converter_ffmpeg

CONVERTER_FFMPEG = converter_ffmpeg()
_ENCODERS = {"aac": ["-c:a", "aac"], "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"]}


def make_video(
    path: Path,
    seconds: float,
    audio: bool = True,
    audio_codec: str = "aac",
    faststart: bool = False,
    size: str = "160x120",
) -> Path:
    """Write a testsrc video with an optional 440 Hz tone; the container follows the suffix."""
    args = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate=10:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
        args += _ENCODERS[audio_codec]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if faststart:
        args += ["-movflags", "+faststart"]
    run_ffmpeg([*args, str(path)])
    return path


def make_noise_wav(path: Path, seconds: float) -> Path:
    """Write stereo white noise as 16-bit PCM WAV (costly for LAME, instant to write)."""
    source = f"anoisesrc=sample_rate=44100:duration={seconds}"
    run_ffmpeg(["-f", "lavfi", "-i", source, "-ac", "2", "-c:a", "pcm_s16le", str(path)])
    return path


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut the file to the given fraction of its bytes, like an interrupted upload."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def ffprobe_json(path: Path) -> dict[str, Any]:
    """Return ffprobe's format and streams description of path."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
        check=True,
        capture_output=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def run_ffmpeg(args: list[str]) -> None:
    """Run ffmpeg quietly with these arguments; raise if it fails."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        check=True,
        capture_output=True,
    )


def transcoder(**options: Any) -> FfmpegTranscoder:
    """An FfmpegTranscoder running the converter's ffmpeg and ffprobe (options as its own)."""
    binaries = {"ffmpeg": CONVERTER_FFMPEG.ffmpeg, "ffprobe": CONVERTER_FFMPEG.ffprobe}
    return FfmpegTranscoder(**{**binaries, **options})
