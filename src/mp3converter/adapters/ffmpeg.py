"""ffmpeg/ffprobe adapter: probe a media file and extract its first audio stream as MP3.

Every child runs confined (see child_process) under its own deadline, opens only the scratch file
(`file` protocol) and only the formats of media_formats.
"""

import asyncio
import json
import math
import signal
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mp3converter.adapters.child_process import (
    ChildLimits,
    OutputTooLarge,
    feed,
    read_at_most,
    read_tail,
    spawn,
)
from mp3converter.adapters.ffmpeg_progress import ProgressParser, fraction
from mp3converter.adapters.media_errors import MediaError, reason_from_stderr
from mp3converter.adapters.media_formats import FORMAT_WHITELIST, SUPPORTED_SUMMARY
from mp3converter.domain.jobs import FailureCode
from mp3converter.domain.limits import MediaLimits

ProgressCallback = Callable[[float], Awaitable[None]]
T = TypeVar("T")

# Just under ffmpeg's 0.5 s period, so timing jitter does not drop every other block.
_PROGRESS_INTERVAL = 0.45
# Only what MediaInfo needs: a file's own tags never reach the role's memory.
_PROBE_ENTRIES = "format=duration:stream=codec_type,codec_name,duration"
_PROBE_OUTPUT_BYTES = 1024 * 1024
# CPU seconds a child may use per second of its deadline (a backstop: the deadline acts first).
_CPU_PER_WALL_SECOND = 2.0
# ffmpeg reads the upload from its stdin when it is converted while it still arrives.
STDIN = "pipe:0"


def _input_guard(source: str) -> list[str]:
    # One protocol: the scratch file, or the pipe; and only self-contained formats.
    protocol = "pipe" if source == STDIN else "file"
    return ["-protocol_whitelist", protocol, "-format_whitelist", FORMAT_WHITELIST]


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass(frozen=True)
class _Step:
    """One kind of child: what it does, its deadline, and the failure when it runs past it."""

    what: str
    timeout_code: FailureCode
    seconds: Callable[[MediaLimits], float]


_PROBE = _Step("probing", FailureCode.PROBE_TIMEOUT, lambda limits: limits.probe_seconds)
_CONVERT = _Step(
    "conversion", FailureCode.CONVERSION_TIMEOUT, lambda limits: limits.conversion_seconds
)


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file; the duration is the first audio stream's if known."""

    duration_seconds: float | None
    has_audio: bool
    audio_codec: str | None


@dataclass(frozen=True)
class ConversionResult:
    """The MP3 that a conversion produced."""

    duration_seconds: float


class FfmpegTranscoder:
    """Runs ffprobe and ffmpeg as subprocesses (argument lists, never a shell)."""

    def __init__(
        self,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        vbr_quality: int = 2,
        duration_tolerance: float = 0.5,
        limits: MediaLimits | None = None,
    ) -> None:
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        self._vbr_quality = vbr_quality
        self._duration_tolerance = duration_tolerance
        self.limits = limits or MediaLimits()

    async def probe(self, path: Path) -> MediaInfo:
        """Describe a media file, or raise MediaError (not-media, unsupported-format, ...)."""
        return await self._probe(_file_url(path), path.parent, path.name, None)

    async def probe_head(self, head: bytes, scratch: Path) -> MediaInfo:
        """Describe a file from its first bytes, read from a pipe (a file still uploading)."""
        return await self._probe(STDIN, scratch, "the upload", _once(head))

    async def _probe(
        self, url: str, cwd: Path, name: str, stdin: AsyncIterable[bytes] | None
    ) -> MediaInfo:
        args = [self._ffprobe, "-v", "error", *_input_guard(url), "-print_format", "json"]
        args += ["-show_entries", _PROBE_ENTRIES, url]
        try:
            returncode, out, err = await self._child(
                args, cwd, _PROBE, lambda stdout: read_at_most(stdout, _PROBE_OUTPUT_BYTES), stdin
            )
        except OutputTooLarge as exc:
            reason = "ffprobe's description of the file is too large"
            raise MediaError(FailureCode.NOT_MEDIA, reason) from exc
        if returncode != 0:
            stderr = err.replace(url, name)
            _refuse_unsupported(stderr)
            fallback = f"ffprobe exited with code {returncode}"
            raise MediaError(FailureCode.NOT_MEDIA, reason_from_stderr(stderr, fallback))
        try:
            return media_info_from_probe(json.loads(out))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MediaError(FailureCode.NOT_MEDIA, "ffprobe could not describe the file") from exc

    def build_args(self, source: str, dst: Path, info: MediaInfo) -> list[str]:
        """The full ffmpeg argv that writes the first audio stream of the source (a `file:` URL,
        or STDIN) to dst as MP3."""
        if info.audio_codec == "mp3":
            codec = ["-c:a", "copy"]
        else:
            codec = ["-c:a", "libmp3lame", "-q:a", str(self._vbr_quality)]
        args = [self._ffmpeg, "-hide_banner", "-nostdin", "-y", *_input_guard(source)]
        args += ["-i", source, "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "0"]
        # Stop a file that decodes longer than it claims just past the limit (checked after).
        args += [*codec, "-t", f"{self.limits.max_media_seconds + 1:g}", "-id3v2_version", "3"]
        args += ["-progress", "pipe:1", "-nostats"]
        return [*args, "-f", "mp3", _file_url(dst)]

    async def convert(
        self,
        src: Path,
        dst: Path,
        info: MediaInfo,
        on_progress: ProgressCallback | None = None,
    ) -> ConversionResult:
        """Convert src to an MP3 at dst, reporting progress 0..1; dst is removed on MediaError."""
        return await self._convert(_file_url(src), src.name, None, dst, info, on_progress, None)

    async def convert_stream(
        self,
        chunks: AsyncIterable[bytes],
        dst: Path,
        info: MediaInfo,
        on_progress: ProgressCallback | None = None,
        fraction_fed: Callable[[], float | None] | None = None,
    ) -> ConversionResult:
        """Convert a file read front to back as it arrives (fed to ffmpeg's stdin) to dst.

        `fraction_fed` tells how much of the file has been fed: progress when the media does
        not say how long it is (an MP3 without a header, an Ogg stream)."""
        args = (STDIN, "the upload", chunks, dst, info, on_progress, fraction_fed)
        return await self._convert(*args)

    async def _convert(
        self,
        source: str,
        name: str,
        stdin: AsyncIterable[bytes] | None,
        dst: Path,
        info: MediaInfo,
        on_progress: ProgressCallback | None,
        fraction_fed: Callable[[], float | None] | None,
    ) -> ConversionResult:
        if not info.has_audio:
            raise MediaError(FailureCode.NO_AUDIO, "the file has no audio stream")
        limit = self.limits.max_media_seconds
        if info.duration_seconds is not None and info.duration_seconds > limit:
            reason = (
                f"the media is {_clock(info.duration_seconds)} long; the limit is {_clock(limit)}"
            )
            raise MediaError(FailureCode.TOO_LONG, reason)
        try:
            returncode, written, stderr = await self._child(
                self.build_args(source, dst, info),
                dst.parent,
                _CONVERT,
                lambda stdout: _follow_progress(
                    stdout, info.duration_seconds, on_progress, fraction_fed
                ),
                stdin,
            )
            self._check_exit(returncode, stderr.replace(source, name))
            return self._verify(written, info)
        except MediaError:
            await asyncio.to_thread(dst.unlink, missing_ok=True)
            raise

    def _check_exit(self, returncode: int, stderr: str) -> None:
        if returncode == -signal.SIGXFSZ:
            limit = self.limits.max_output_bytes
            reason = f"the MP3 would be larger than the limit of {limit} bytes"
            raise MediaError(FailureCode.OUTPUT_TOO_LARGE, reason)
        if returncode == -signal.SIGXCPU:
            reason = "the conversion used more CPU time than its limit; stopped"
            raise MediaError(FailureCode.CONVERSION_TIMEOUT, reason)
        if returncode != 0:
            _refuse_unsupported(stderr)
            fallback = f"ffmpeg exited with code {returncode}"
            raise MediaError(FailureCode.CONVERSION_FAILED, reason_from_stderr(stderr, fallback))

    async def _child(
        self,
        args: list[str],
        cwd: Path,
        step: _Step,
        consume_stdout: Callable[[asyncio.StreamReader], Awaitable[T]],
        stdin: AsyncIterable[bytes] | None = None,
    ) -> tuple[int, T, str]:
        """Run a confined child under its step's deadline: (exit code, stdout's result, stderr).

        With `stdin`, the child reads those bytes as they come; an error of theirs (an upload
        that was abandoned) propagates once the child has ended.
        """
        seconds = step.seconds(self.limits)
        limits = _child_limits(self.limits, seconds)

        async def run() -> tuple[int, T, str]:
            async with spawn(args, cwd=cwd, limits=limits, stdin=stdin is not None) as proc:
                assert proc.stdout is not None
                assert proc.stderr is not None
                # Drained concurrently: a full stderr pipe would stall the child.
                stderr_tail = asyncio.create_task(read_tail(proc.stderr))
                feeding = None
                if stdin is not None:
                    assert proc.stdin is not None
                    feeding = asyncio.create_task(feed(proc.stdin, stdin))
                try:
                    result = await consume_stdout(proc.stdout)
                    returncode = await proc.wait()
                    if feeding is not None:
                        await feeding
                    return returncode, result, await stderr_tail
                finally:
                    stderr_tail.cancel()
                    if feeding is not None:
                        feeding.cancel()

        try:
            async with asyncio.timeout(seconds) as deadline:
                return await run()
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            reason = f"{step.what} took longer than {seconds:g} s; stopped"
            raise MediaError(step.timeout_code, reason) from exc

    def _verify(self, decoded: float, info: MediaInfo) -> ConversionResult:
        # A cut-short input still converts with exit 0 into a shorter MP3. ffmpeg's own last
        # progress block says how long the MP3 is (within a frame): no second probe needed.
        expected = info.duration_seconds
        if expected is not None and decoded < expected - self._duration_tolerance:
            reason = f"decoded {decoded:.1f} s of {expected:.1f} s; the input is cut short"
            raise MediaError(FailureCode.TRUNCATED_INPUT, reason)
        if decoded <= 0:
            raise MediaError(FailureCode.CONVERSION_FAILED, "ffmpeg produced no audio")
        # A file that hid or understated its length was cut just past the limit by `-t`.
        limit = self.limits.max_media_seconds
        if decoded > limit:
            reason = f"the audio runs past the limit of {_clock(limit)} (the file understated its length)"
            raise MediaError(FailureCode.TOO_LONG, reason)
        return ConversionResult(duration_seconds=decoded)


def media_info_from_probe(data: dict[str, Any]) -> MediaInfo:
    """Build MediaInfo from ffprobe's `-show_format -show_streams` JSON."""
    fmt = data["format"]
    audio = next((s for s in data.get("streams", []) if s.get("codec_type") == "audio"), None)
    duration = _seconds(audio.get("duration")) if audio else None
    return MediaInfo(
        duration_seconds=duration if duration is not None else _seconds(fmt.get("duration")),
        has_audio=audio is not None,
        audio_codec=audio.get("codec_name") if audio else None,
    )


def _seconds(value: object) -> float | None:
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _refuse_unsupported(stderr: str) -> None:
    # ffmpeg detected the format, found it off the allow-list, and read nothing from it.
    if "not on whitelist" in stderr:
        reason = f"this kind of file is not supported; supported: {SUPPORTED_SUMMARY}"
        raise MediaError(FailureCode.UNSUPPORTED_FORMAT, reason)


def _child_limits(limits: MediaLimits, deadline_seconds: float) -> ChildLimits:
    return ChildLimits(
        cpu_seconds=deadline_seconds * _CPU_PER_WALL_SECOND,
        memory_bytes=limits.child_memory_bytes,
        file_bytes=limits.max_output_bytes,
        niceness=limits.child_niceness,
    )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _file_url(path: Path) -> str:
    # Without the prefix, a name such as "concat:a|b" would be read as a protocol.
    return f"file:{path}"


async def _follow_progress(
    stdout: asyncio.StreamReader,
    total: float | None,
    on_progress: ProgressCallback | None,
    fraction_fed: Callable[[], float | None] | None = None,
) -> float:
    """Report progress; return the output's length from ffmpeg's last block (0 if none)."""
    parser = ProgressParser()
    clock = asyncio.get_running_loop().time
    last_report = -math.inf
    written = 0.0
    async for raw in stdout:
        update = parser.feed(raw.decode(errors="replace"))
        if update is None:
            continue
        written = update.out_seconds
        if on_progress is None:
            continue
        if update.finished or clock() - last_report >= _PROGRESS_INTERVAL:
            last_report = clock()
            if total is None and not update.finished:
                fed = fraction_fed() if fraction_fed is not None else None
                if fed is not None:
                    await on_progress(fed)
                continue
            done = update.finished and total is None
            await on_progress(1.0 if done else fraction(update.out_seconds, total))
    return written
