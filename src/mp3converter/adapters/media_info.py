"""What ffprobe says about a file: its audio streams, its length, its pictures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Only what MediaInfo needs: a file's own tags never reach the role's memory.
PROBE_ENTRIES = (
    "format=duration"
    ":stream=index,codec_type,codec_name,duration,sample_rate"
    ":stream_disposition=attached_pic"
)
# Pictures the MP3 muxer can carry as ID3 cover art unchanged.
COVER_CODECS = frozenset({"mjpeg", "png"})


@dataclass(frozen=True)
class AudioStream:
    """One audio stream of a file."""

    codec: str | None
    duration_seconds: float | None
    sample_rate: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file; the duration is the first audio stream's if known."""

    duration_seconds: float | None
    has_audio: bool
    audio_codec: str | None
    audio_streams: tuple[AudioStream, ...] = ()
    # The stream index of an embedded cover picture (JPEG or PNG), if the file has one.
    cover_index: int | None = None
    # Whether it has a moving picture (not only a cover), to take a frame from.
    has_video: bool = False

    def track(self, number: int) -> AudioStream | None:
        """The audio stream of that number (0 = the first), or None if there is none."""
        streams = self.audio_streams
        if not streams and self.has_audio:
            streams = (AudioStream(self.audio_codec, self.duration_seconds),)
        return streams[number] if 0 <= number < len(streams) else None

    @property
    def audio_count(self) -> int:
        """How many audio streams the file has."""
        return len(self.audio_streams) or int(self.has_audio)


def media_info_from_probe(data: dict[str, Any]) -> MediaInfo:
    """Build MediaInfo from ffprobe's JSON (PROBE_ENTRIES)."""
    fmt = data["format"]
    streams = data.get("streams", [])
    whole = seconds(fmt.get("duration"))
    audio = tuple(
        AudioStream(
            codec=s.get("codec_name"),
            duration_seconds=seconds(s.get("duration")) or whole,
            sample_rate=_rate(s.get("sample_rate")),
        )
        for s in streams
        if s.get("codec_type") == "audio"
    )
    pictures = [s for s in streams if s.get("codec_type") == "video" and _attached(s)]
    cover = next((s for s in pictures if s.get("codec_name") in COVER_CODECS), None)
    first = audio[0] if audio else None
    return MediaInfo(
        duration_seconds=first.duration_seconds if first else whole,
        has_audio=first is not None,
        audio_codec=first.codec if first else None,
        audio_streams=audio,
        cover_index=_index(cover),
        has_video=any(s.get("codec_type") == "video" and not _attached(s) for s in streams),
    )


def _attached(stream: dict[str, Any]) -> bool:
    disposition = stream.get("disposition")
    return isinstance(disposition, dict) and disposition.get("attached_pic") == 1


def _index(stream: dict[str, Any] | None) -> int | None:
    if stream is None:
        return None
    index = stream.get("index")
    return index if isinstance(index, int) and index >= 0 else None


def _rate(value: object) -> int | None:
    rate = seconds(value)
    return int(rate) if rate else None


def seconds(value: object) -> float | None:
    """A finite, non-negative number from ffprobe's text, or None."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
