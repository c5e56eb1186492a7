"""ffmpeg/ffprobe adapter: probe a media file and extract its first audio stream as MP3."""

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mp3converter.adapters.child_process import read_tail, spawn
from mp3converter.adapters.ffmpeg_progress import ProgressParser, fraction
from mp3converter.adapters.media_errors import (
    CONVERSION_FAILED,
    NO_AUDIO,
    NOT_MEDIA,
    TRUNCATED_INPUT,
    MediaError,
    reason_from_stderr,
)

ProgressCallback = Callable[[float], Awaitable[None]]

# Just under ffmpeg's 0.5 s period, so timing jitter does not drop every other block.
_PROGRESS_INTERVAL = 0.45


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file; the duration is the first audio stream's if known."""

    duration_seconds: float | None
    has_audio: bool
    audio_codec: str | None
    format_name: str


@dataclass(frozen=True)
class ConversionResult:
    """The MP3 that a conversion produced."""

    duration_seconds: float
    size_bytes: int


class FfmpegConverter:
    """Runs ffprobe and ffmpeg as subprocesses (argument lists, never a shell)."""

    def __init__(
        self,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        vbr_quality: int = 2,
        duration_tolerance: float = 0.5,
    ) -> None:
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        self._vbr_quality = vbr_quality
        self._duration_tolerance = duration_tolerance

    async def probe(self, path: Path) -> MediaInfo:
        """Describe a media file, or raise MediaError(NOT_MEDIA)."""
        url = _file_url(path)
        args = [self._ffprobe, "-v", "error", "-protocol_whitelist", "file"]
        args += ["-print_format", "json", "-show_format", "-show_streams", url]
        async with spawn(args) as proc:
            out, err = await proc.communicate()
        if proc.returncode != 0:
            stderr = err.decode(errors="replace").replace(url, path.name)
            fallback = f"ffprobe exited with code {proc.returncode}"
            raise MediaError(NOT_MEDIA, reason_from_stderr(stderr, fallback))
        try:
            return media_info_from_probe(json.loads(out))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MediaError(NOT_MEDIA, "ffprobe could not describe the file") from exc

    def build_args(self, src: Path, dst: Path, info: MediaInfo) -> list[str]:
        """Return the full ffmpeg argv that writes the first audio stream of src to dst as MP3."""
        if info.audio_codec == "mp3":
            codec = ["-c:a", "copy"]
        else:
            codec = ["-c:a", "libmp3lame", "-q:a", str(self._vbr_quality)]
        # The whitelist stops a playlist inside the upload (HLS, concat) from reaching the network.
        args = [self._ffmpeg, "-hide_banner", "-nostdin", "-y", "-protocol_whitelist", "file"]
        args += ["-i", _file_url(src), "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "0"]
        args += [*codec, "-id3v2_version", "3", "-progress", "pipe:1", "-nostats"]
        return [*args, "-f", "mp3", _file_url(dst)]

    async def convert(
        self,
        src: Path,
        dst: Path,
        info: MediaInfo,
        on_progress: ProgressCallback | None = None,
    ) -> ConversionResult:
        """Convert src to an MP3 at dst, reporting progress 0..1; dst is removed on MediaError."""
        if not info.has_audio:
            raise MediaError(NO_AUDIO, "the file has no audio stream")
        try:
            returncode, stderr = await self._run(self.build_args(src, dst, info), info, on_progress)
            if returncode != 0:
                stderr = stderr.replace(_file_url(src), src.name).replace(_file_url(dst), dst.name)
                fallback = f"ffmpeg exited with code {returncode}"
                raise MediaError(CONVERSION_FAILED, reason_from_stderr(stderr, fallback))
            return await self._verify(dst, info)
        except MediaError:
            await asyncio.to_thread(dst.unlink, missing_ok=True)
            raise

    async def _run(
        self, args: list[str], info: MediaInfo, on_progress: ProgressCallback | None
    ) -> tuple[int, str]:
        async with spawn(args) as proc:
            assert proc.stdout is not None
            assert proc.stderr is not None
            # Drained concurrently: a full stderr pipe would stall ffmpeg and so its progress.
            stderr_tail = asyncio.create_task(read_tail(proc.stderr))
            try:
                await _follow_progress(proc.stdout, info.duration_seconds, on_progress)
                returncode = await proc.wait()
                return returncode, await stderr_tail
            finally:
                stderr_tail.cancel()

    async def _verify(self, dst: Path, info: MediaInfo) -> ConversionResult:
        # A cut-short input still converts with exit 0 into a shorter MP3.
        try:
            decoded = (await self.probe(dst)).duration_seconds or 0.0
        except MediaError:
            decoded = 0.0
        expected = info.duration_seconds
        if expected is not None and decoded < expected - self._duration_tolerance:
            reason = f"decoded {decoded:.1f} s of {expected:.1f} s; the input is cut short"
            raise MediaError(TRUNCATED_INPUT, reason)
        if decoded <= 0:
            raise MediaError(CONVERSION_FAILED, "ffmpeg produced no audio")
        size = (await asyncio.to_thread(dst.stat)).st_size
        return ConversionResult(duration_seconds=decoded, size_bytes=size)


def media_info_from_probe(data: dict[str, Any]) -> MediaInfo:
    """Build MediaInfo from ffprobe's `-show_format -show_streams` JSON."""
    fmt = data["format"]
    audio = next((s for s in data.get("streams", []) if s.get("codec_type") == "audio"), None)
    duration = _seconds(audio.get("duration")) if audio else None
    return MediaInfo(
        duration_seconds=duration if duration is not None else _seconds(fmt.get("duration")),
        has_audio=audio is not None,
        audio_codec=audio.get("codec_name") if audio else None,
        format_name=str(fmt["format_name"]),
    )


def _seconds(value: object) -> float | None:
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _file_url(path: Path) -> str:
    # Without the prefix, a name such as "concat:a|b" would be read as a protocol.
    return f"file:{path}"


async def _follow_progress(
    stdout: asyncio.StreamReader, total: float | None, on_progress: ProgressCallback | None
) -> None:
    parser = ProgressParser()
    clock = asyncio.get_running_loop().time
    last_report = -math.inf
    async for raw in stdout:
        update = parser.feed(raw.decode(errors="replace"))
        if update is None or on_progress is None:
            continue
        if update.finished or clock() - last_report >= _PROGRESS_INTERVAL:
            last_report = clock()
            done = update.finished and total is None
            await on_progress(1.0 if done else fraction(update.out_seconds, total))
