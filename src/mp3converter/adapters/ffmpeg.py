"""ffmpeg/ffprobe adapter: probe a media file and write one of its audio streams as MP3.

Every child runs confined (see child_process) under its own deadline, opens only the scratch file
(`file` protocol) and only the formats of media_formats.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import signal
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mp3converter.adapters.child_process import (
    ChildLimits,
    OutputTooLarge,
    feed,
    read_at_most,
    read_tail,
    spawn,
)
from mp3converter.adapters.ffmpeg_args import (
    STDIN,
    Window,
    conversion_args,
    file_url,
    frame_args,
    input_guard,
    loudnorm_analysis,
    measure_args,
    window,
)
from mp3converter.adapters.ffmpeg_progress import ProgressParser, fraction
from mp3converter.adapters.media_errors import MediaError, reason_from_stderr
from mp3converter.adapters.media_formats import HEAD_BYTES, SUPPORTED_SUMMARY, referring_format
from mp3converter.adapters.media_info import (
    PROBE_ENTRIES,
    AudioStream,
    MediaInfo,
    media_info_from_probe,
)
from mp3converter.domain.conversion_options import DEFAULT_OPTIONS, ConversionOptions, Cover
from mp3converter.domain.jobs import FailureCode
from mp3converter.domain.limits import MediaLimits
from mp3converter.domain.loudness import (
    LoudnessMode,
    LoudnessReport,
    Plan,
    dynamic,
    parse_ebur128_summary,
    parse_loudnorm_analysis,
    parse_loudnorm_output,
    plan,
    report,
)

__all__ = ["STDIN", "AudioStream", "ConversionResult", "FfmpegTranscoder", "MediaInfo"]
log = logging.getLogger(__name__)
ProgressCallback = Callable[[float], Awaitable[None]]
T = TypeVar("T")

# Just under ffmpeg's 0.5 s period, so timing jitter does not drop every other block.
_PROGRESS_INTERVAL = 0.45
_PROBE_OUTPUT_BYTES = 1024 * 1024
# CPU seconds a child may use per second of its deadline (a backstop: the deadline acts first).
_CPU_PER_WALL_SECOND = 2.0
# A taken cover frame comes from this far into the video.
COVER_AT_FRACTION = 0.1


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
_MEASURE = _Step(
    "measuring the loudness",
    FailureCode.CONVERSION_TIMEOUT,
    lambda limits: limits.conversion_seconds,
)


@dataclass(frozen=True)
class ConversionResult:
    """The MP3 that a conversion produced."""

    duration_seconds: float
    loudness: LoudnessReport | None = None


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
        return await self._probe(file_url(path), path.parent, path.name, None, path)

    async def probe_head(self, head: bytes, scratch: Path) -> MediaInfo:
        """Describe a file from its first bytes, read from a pipe (a file still uploading)."""
        return await self._probe(STDIN, scratch, "the upload", _once(head), head)

    async def _probe(
        self,
        url: str,
        cwd: Path,
        name: str,
        stdin: AsyncIterable[bytes] | None,
        head: Path | bytes,
    ) -> MediaInfo:
        args = [self._ffprobe, "-v", "error", *input_guard(url), "-print_format", "json"]
        args += ["-show_entries", PROBE_ENTRIES, url]
        try:
            returncode, out, err = await self._child(
                args, cwd, _PROBE, lambda stdout: read_at_most(stdout, _PROBE_OUTPUT_BYTES), stdin
            )
        except OutputTooLarge as exc:
            reason = "ffprobe's description of the file is too large"
            raise MediaError(FailureCode.NOT_MEDIA, reason) from exc
        if returncode != 0:
            stderr = err.replace(url, name)
            await _refuse_unsupported(stderr, head)
            fallback = f"ffprobe exited with code {returncode}"
            raise MediaError(FailureCode.NOT_MEDIA, reason_from_stderr(stderr, fallback))
        try:
            return media_info_from_probe(json.loads(out))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MediaError(FailureCode.NOT_MEDIA, "ffprobe could not describe the file") from exc

    def build_args(
        self,
        source: str,
        dst: Path,
        info: MediaInfo,
        options: ConversionOptions = DEFAULT_OPTIONS,
        loudness: Plan | None = None,
        frame: Path | None = None,
    ) -> list[str]:
        """The full ffmpeg argv that writes the chosen audio stream of the source (a `file:`
        URL, or STDIN) to dst as MP3."""
        return conversion_args(
            self._ffmpeg,
            source,
            dst,
            info,
            options,
            max_seconds=self.limits.max_media_seconds,
            default_quality=self._vbr_quality,
            loudness=loudness,
            frame=frame,
        )

    async def convert(
        self,
        src: Path,
        dst: Path,
        info: MediaInfo,
        on_progress: ProgressCallback | None = None,
        options: ConversionOptions = DEFAULT_OPTIONS,
    ) -> ConversionResult:
        """Convert src to an MP3 at dst, reporting progress 0..1; dst is removed on MediaError."""
        job = _Run(file_url(src), src.name, src, None, dst, info, options, on_progress, None)
        return await self._convert(job)

    async def convert_stream(
        self,
        chunks: AsyncIterable[bytes],
        dst: Path,
        info: MediaInfo,
        on_progress: ProgressCallback | None = None,
        fraction_fed: Callable[[], float | None] | None = None,
        options: ConversionOptions = DEFAULT_OPTIONS,
    ) -> ConversionResult:
        """Convert a file read front to back as it arrives (fed to ffmpeg's stdin) to dst.

        `fraction_fed` tells how much of the file has been fed: progress when the media does
        not say how long it is (an MP3 without a header, an Ogg stream). Options that need the
        whole file first (loudness, a taken frame) are for `convert`."""
        if options.needs_whole_file:
            raise ValueError("loudness and a taken frame need the whole file: use convert()")
        job = _Run(STDIN, "the upload", None, chunks, dst, info, options, on_progress, fraction_fed)
        return await self._convert(job)

    async def _convert(self, job: _Run) -> ConversionResult:
        info, options = job.info, job.options
        track = _chosen_track(info, options.audio_track)
        self._check_length(info.duration_seconds)
        span = window(options, track.duration_seconds)
        if span.seconds is not None and span.seconds <= 0:
            whole = _clock(track.duration_seconds or 0.0)
            reason = f"start ({options.start:g} s) is not before the end of the media ({whole})"
            raise MediaError(FailureCode.TRIM_OUT_OF_RANGE, reason)
        try:
            chosen = await self._measure(job) if options.loudness is not None else None
            frame = await self._frame(job) if options.cover is Cover.FRAME else None
            returncode, written, stderr = await self._child(
                self.build_args(job.source, job.dst, info, options, chosen, frame),
                job.dst.parent,
                _CONVERT,
                lambda stdout: _follow_progress(
                    stdout, span.seconds, job.on_progress, job.fraction_fed
                ),
                job.stdin,
            )
            await self._check_exit(returncode, stderr.replace(job.source, job.name), job.path)
            duration = self._verify(written, span, options)
        except MediaError:
            await asyncio.to_thread(job.dst.unlink, missing_ok=True)
            raise
        loudness = None
        if chosen is not None:
            reached = parse_loudnorm_output(stderr) if chosen.mode is LoudnessMode.DYNAMIC else None
            loudness = report(chosen, reached)
        return ConversionResult(duration_seconds=duration, loudness=loudness)

    def _check_length(self, seconds: float | None) -> None:
        limit = self.limits.max_media_seconds
        if seconds is not None and seconds > limit:
            reason = f"the media is {_clock(seconds)} long; the limit is {_clock(limit)}"
            raise MediaError(FailureCode.TOO_LONG, reason)

    async def _measure(self, job: _Run) -> Plan:
        """Pass one of loudness normalisation, over the part of the file the MP3 will hold."""
        assert job.options.loudness is not None
        target = job.options.loudness
        stderr = await self._measure_pass(job, None)
        measured = parse_ebur128_summary(stderr)
        if measured is None:
            raise MediaError(FailureCode.CONVERSION_FAILED, "the loudness could not be measured")
        chosen = plan(measured, target)
        if chosen.mode is not LoudnessMode.DYNAMIC:
            return chosen
        analysis = parse_loudnorm_analysis(await self._measure_pass(job, loudnorm_analysis(target)))
        if analysis is None:
            raise MediaError(FailureCode.CONVERSION_FAILED, "the loudness could not be analysed")
        return dynamic(target, analysis)

    async def _measure_pass(self, job: _Run, analysis: str | None) -> str:
        max_seconds = self.limits.max_media_seconds
        args = measure_args(self._ffmpeg, job.source, job.options, max_seconds, analysis)
        returncode, _, stderr = await self._child(args, job.dst.parent, _MEASURE, _drain)
        await self._check_exit(returncode, stderr.replace(job.source, job.name), job.path)
        return stderr

    async def _frame(self, job: _Run) -> Path | None:
        """A JPEG of the video at a tenth of its length; None (no cover) if there is no video
        or it cannot be decoded in time: a missing cover never fails the job."""
        if not job.info.has_video:
            return None
        cover = job.dst.with_name("cover.jpg")
        at = (job.info.duration_seconds or 0.0) * COVER_AT_FRACTION
        args = frame_args(self._ffmpeg, job.source, at, cover)
        try:
            returncode, _, stderr = await self._child(args, job.dst.parent, _PROBE, _drain)
        except MediaError as exc:  # past its deadline
            returncode, stderr = -1, exc.reason
        if returncode != 0 or not await asyncio.to_thread(_non_empty, cover):
            log.warning("no frame taken for the cover: %s", stderr[-300:].strip())
            return None
        return cover

    async def _check_exit(self, returncode: int, stderr: str, source: Path | None) -> None:
        if returncode == -signal.SIGXFSZ:
            limit = self.limits.max_output_bytes
            reason = f"the MP3 would be larger than the limit of {limit} bytes"
            raise MediaError(FailureCode.OUTPUT_TOO_LARGE, reason)
        if returncode == -signal.SIGXCPU:
            reason = "the conversion used more CPU time than its limit; stopped"
            raise MediaError(FailureCode.CONVERSION_TIMEOUT, reason)
        if returncode != 0:
            await _refuse_unsupported(stderr, source or b"")
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

    def _verify(self, decoded: float, span: Window, options: ConversionOptions) -> float:
        # A cut-short input still converts with exit 0 into a shorter MP3. ffmpeg's own last
        # progress block says how long the MP3 is (within a frame): no second probe needed.
        expected = span.seconds
        if expected is not None and decoded < expected - self._duration_tolerance:
            reason = f"decoded {decoded:.1f} s of {expected:.1f} s; the input is cut short"
            raise MediaError(FailureCode.TRUNCATED_INPUT, reason)
        if decoded <= 0:
            if options.start:
                reason = f"nothing to convert: start ({options.start:g} s) is past the media's end"
                raise MediaError(FailureCode.TRIM_OUT_OF_RANGE, reason)
            raise MediaError(FailureCode.CONVERSION_FAILED, "ffmpeg produced no audio")
        # A file that hid or understated its length was cut just past the limit by `-t`.
        limit = self.limits.max_media_seconds
        if decoded > limit:
            reason = f"the audio runs past the limit of {_clock(limit)} (the file understated its length)"
            raise MediaError(FailureCode.TOO_LONG, reason)
        return decoded


@dataclass(frozen=True)
class _Run:
    """One conversion: where the source is, what is wanted, whom to tell."""

    source: str
    name: str
    path: Path | None  # the source file, unless it is read from stdin
    stdin: AsyncIterable[bytes] | None
    dst: Path
    info: MediaInfo
    options: ConversionOptions
    on_progress: ProgressCallback | None
    fraction_fed: Callable[[], float | None] | None


def _chosen_track(info: MediaInfo, number: int) -> AudioStream:
    track = info.track(number)
    if track is not None:
        return track
    if not info.has_audio:
        raise MediaError(FailureCode.NO_AUDIO, "the file has no audio stream")
    count = info.audio_count
    reason = (
        f"audio_track {number} was asked for; the file has {count} audio "
        f"stream{'s' if count != 1 else ''} (0 to {count - 1})"
    )
    raise MediaError(FailureCode.NO_SUCH_AUDIO_TRACK, reason)


async def _drain(stdout: asyncio.StreamReader) -> None:
    while await stdout.read(65536):
        pass


def _non_empty(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


async def _refuse_unsupported(stderr: str, head: Path | bytes) -> None:
    """Raise unsupported-format if ffmpeg failed on a format it refuses: one it detected and
    found off the allow-list (it read nothing from it), or, as the converter's own build knows
    no such format, a playlist or manifest recognised from the file's first bytes."""
    if "not on whitelist" in stderr:
        reason = f"this kind of file is not supported; supported: {SUPPORTED_SUMMARY}"
        raise MediaError(FailureCode.UNSUPPORTED_FORMAT, reason)
    first = head if isinstance(head, bytes) else await asyncio.to_thread(_read_head, head)
    kind = referring_format(first)
    if kind is not None:
        reason = f"{kind} refers to other files or streams and is not supported; supported: {SUPPORTED_SUMMARY}"
        raise MediaError(FailureCode.UNSUPPORTED_FORMAT, reason)


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(HEAD_BYTES)
    except OSError:
        return b""


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
