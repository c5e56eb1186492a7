"""The argument lists of every ffmpeg run: measure loudness, take a frame, write the MP3.

Pure functions of the probe, the options and the limits; no user text ever reaches a filter
graph (numbers only), and tags travel as their own argv items.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mp3converter.adapters.media_formats import FORMAT_WHITELIST
from mp3converter.adapters.media_info import MediaInfo
from mp3converter.domain.conversion_options import (
    DEFAULT_QUALITY,
    TRUE_PEAK_LIMIT_DBTP,
    ConversionOptions,
    Cover,
    nearest_mp3_rate,
)
from mp3converter.domain.loudness import (
    DYNAMIC_RANGE_LU,
    ENCODER_HEADROOM_DB,
    LoudnessMode,
    Plan,
)

# ffmpeg reads the upload from its stdin when it is converted while it still arrives.
STDIN = "pipe:0"
# A taken frame: at most this many pixels on its long side.
COVER_MAX_PIXELS = 600
# ID3 APIC picture type 3, "Cover (front)", chosen by the MP3 muxer from this comment.
FRONT_COVER = "comment=Cover (front)"


def file_url(path: Path) -> str:
    """ffmpeg's name of a local file. Without the prefix, a name such as "concat:a|b" would be
    read as a protocol."""
    return f"file:{path}"


def input_guard(source: str) -> list[str]:
    """One protocol (the scratch file, or the pipe) and only self-contained formats."""
    protocol = "pipe" if source == STDIN else "file"
    return ["-protocol_whitelist", protocol, "-format_whitelist", FORMAT_WHITELIST]


@dataclass(frozen=True)
class Window:
    """The part of the source the MP3 holds: from `start`, for `seconds` (None: to the end)."""

    start: float
    seconds: float | None


def window(options: ConversionOptions, source_seconds: float | None) -> Window:
    """Where the MP3 begins and how long it lasts, as far as known before converting."""
    start = options.start or 0.0
    end = options.end
    if source_seconds is not None:
        end = source_seconds if end is None else min(end, source_seconds)
    return Window(start, None if end is None else max(0.0, end - start))


def _trim_filters(options: ConversionOptions) -> list[str]:
    if not options.trimmed:
        return []
    bounds = [f"start={options.start:.6f}"] if options.start is not None else []
    bounds += [f"end={options.end:.6f}"] if options.end is not None else []
    # Sample-accurate on any input, a pipe too; timestamps start again at zero.
    return [f"atrim={':'.join(bounds)}", "asetpts=PTS-STARTPTS"]


def _length_limit(options: ConversionOptions, max_seconds: float) -> list[str]:
    # Stops reading at the trim's end, and a file that decodes longer than it claims just past
    # the limit (checked after the conversion).
    limit = max_seconds + 1
    if options.end is not None:
        limit = min(limit, options.end - (options.start or 0.0))
    return ["-t", f"{limit:.6f}".rstrip("0").rstrip(".")]


def measure_args(
    ffmpeg: str,
    source: str,
    options: ConversionOptions,
    max_seconds: float,
    analysis: str | None = None,
) -> list[str]:
    """Pass one of loudness normalisation: measure what the MP3 would hold (trim included),
    with ebur128, or with the given filter (loudnorm's analysis)."""
    graph = [*_trim_filters(options), analysis or "ebur128=peak=true:framelog=verbose"]
    args = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", *input_guard(source), "-i", source]
    args += ["-map", f"0:a:{options.audio_track}", "-vn", "-sn", "-dn", "-af", ",".join(graph)]
    return [*args, *_length_limit(options, max_seconds), "-f", "null", "-"]


def frame_args(ffmpeg: str, source: str, at_seconds: float, dst: Path) -> list[str]:
    """Take one frame of the video, at most COVER_MAX_PIXELS on its long side, as a JPEG."""
    size = f"min({COVER_MAX_PIXELS},iw)"
    fit = f"scale='{size}':'min({COVER_MAX_PIXELS},ih)':force_original_aspect_ratio=decrease"
    args = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error", *input_guard(source)]
    args += ["-ss", f"{at_seconds:.3f}", "-i", source, "-map", "0:V:0", "-frames:v", "1"]
    return [*args, "-vf", fit, "-q:v", "3", "-f", "mjpeg", file_url(dst)]


def _loudness_filters(chosen: Plan | None, rate: int) -> list[str]:
    if chosen is None or chosen.mode is LoudnessMode.SILENT:
        return []
    if chosen.mode is LoudnessMode.LINEAR:
        return [f"volume={chosen.gain_db:.2f}dB"]
    m = chosen.measured
    settings = [
        loudnorm_targets(chosen.target),
        f"measured_I={m.integrated:.2f}",
        f"measured_TP={m.true_peak:.2f}",
        f"measured_LRA={m.lra:.2f}",
        f"measured_thresh={m.threshold:.2f}",
        f"offset={chosen.offset:.2f}",
        "linear=false",
        "print_format=json",
    ]
    # loudnorm works at 192 kHz; back to the MP3's rate.
    return [f"loudnorm={':'.join(settings)}", f"aresample={rate}"]


def loudnorm_targets(target: float) -> str:
    """loudnorm's targets: the loudness, the true peak under the limit, its range."""
    return f"I={target:.1f}:TP={TRUE_PEAK_LIMIT_DBTP - ENCODER_HEADROOM_DB:.1f}:LRA={DYNAMIC_RANGE_LU:.1f}"


def loudnorm_analysis(target: float) -> str:
    """The filter of loudnorm's analysis pass (for dynamic normalisation)."""
    return f"loudnorm={loudnorm_targets(target)}:print_format=json"


def _codec(info: MediaInfo, options: ConversionOptions, default_quality: int) -> list[str]:
    track = info.track(options.audio_track)
    if track is not None and track.codec == "mp3" and not options.changes_audio:
        return ["-c:a", "copy"]  # the fast path: the MP3 stream as it is, tags may change
    if options.bitrate is not None:
        return ["-c:a", "libmp3lame", "-b:a", f"{options.bitrate}k"]
    quality = default_quality if options.quality is None else options.quality
    return ["-c:a", "libmp3lame", "-q:a", str(quality)]


def _cover(info: MediaInfo, options: ConversionOptions, frame: Path | None) -> list[str]:
    if frame is not None:
        chosen = ["-map", "1:v:0"]
    elif options.cover is Cover.AUTO and info.cover_index is not None:
        chosen = ["-map", f"0:{info.cover_index}"]
    else:
        return ["-vn"]
    picture = ["-c:v", "copy", "-disposition:v:0", "attached_pic", "-metadata:s:v:0", FRONT_COVER]
    return [*chosen, *picture]


def conversion_args(
    ffmpeg: str,
    source: str,
    dst: Path,
    info: MediaInfo,
    options: ConversionOptions,
    *,
    max_seconds: float,
    default_quality: int = DEFAULT_QUALITY,
    loudness: Plan | None = None,
    frame: Path | None = None,
) -> list[str]:
    """The ffmpeg argv that writes the chosen audio stream of the source (a `file:` URL, or
    STDIN) to dst as MP3, with the options applied."""
    track = info.track(options.audio_track)
    rate = options.sample_rate or nearest_mp3_rate(track.sample_rate if track else None)
    args = [ffmpeg, "-hide_banner", "-nostdin", "-y", *input_guard(source), "-i", source]
    if frame is not None:  # our own JPEG, taken from the source a moment ago
        args += ["-protocol_whitelist", "file", "-f", "jpeg_pipe", "-i", file_url(frame)]
    args += ["-map", f"0:a:{options.audio_track}", *_cover(info, options, frame)]
    args += ["-sn", "-dn", "-map_metadata", "0"]
    for key, value in options.tags().items():
        args += ["-metadata", f"{key}={value}"]
    args += _codec(info, options, default_quality)
    graph = [*_trim_filters(options), *_loudness_filters(loudness, rate)]
    if graph:
        args += ["-af", ",".join(graph)]
    if options.sample_rate is not None:
        args += ["-ar", str(options.sample_rate)]
    if options.channels is not None:
        args += ["-ac", str(options.channels)]
    args += [*_length_limit(options, max_seconds), "-id3v2_version", "3"]
    args += ["-progress", "pipe:1", "-nostats"]
    return [*args, "-f", "mp3", file_url(dst)]
