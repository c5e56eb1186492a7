"""What a user may ask of a conversion: bitrate mode, layout, trim, loudness, tags, cover, track.

Options arrive as form fields of an upload, all strings; `parse_options` checks every one and
names each bad field, after laying the explicit fields over a preset (see domain/presets).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from mp3converter.domain.presets import PRESETS

MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
DEFAULT_QUALITY = 2
# EBU R128 as podcast platforms publish it: the true peak of the MP3 stays at or under this.
TRUE_PEAK_LIMIT_DBTP = -1.0
# Longer than any media the converter accepts (see domain/limits), so a bound, not a policy.
MAX_SECONDS = 7 * 24 * 3600.0


class Cover(StrEnum):
    """Where the MP3's cover art comes from."""

    AUTO = "auto"  # the source's own embedded picture, if it has one
    FRAME = "frame"  # a still of the video at a tenth of its length
    NONE = "none"


def _one_of(allowed: Sequence[int], unit: str) -> AfterValidator:
    def check(value: int) -> int:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))} ({unit})")
        return value

    return AfterValidator(check)


def _printable(value: str) -> str:
    # Tags end up in players' displays and in emails: no control or separator characters.
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co") for ch in value):
        raise ValueError("must not contain control or invisible formatting characters")
    if value != value.strip():
        raise ValueError("must not start or end with white space")
    return value


Tag = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
Comment = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_printable)]
Seconds = Annotated[float, Field(ge=0.0, le=MAX_SECONDS)]


class ConversionOptions(BaseModel):
    """The resolved options of one job (a preset already laid under the explicit fields).

    Unset fields keep today's behaviour: VBR quality 2, the source's rate, channels and tags,
    the whole length, the source's embedded cover, the first audio stream.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    preset: str | None = Field(None, description="A named set of options (GET /presets)")
    bitrate: Annotated[int, _one_of(MP3_BITRATES, "kbit/s")] | None = Field(
        None, description="Constant bit rate in kbit/s: 32, 40, ... 256, 320"
    )
    quality: int | None = Field(
        None, ge=0, le=9, description="Variable bit rate quality, 0 (best) to 9 (default 2)"
    )
    sample_rate: Annotated[int, _one_of(MP3_SAMPLE_RATES, "Hz")] | None = Field(
        None, description="8000 to 48000 Hz (default: the source's, or the nearest MP3 rate)"
    )
    channels: Annotated[int, _one_of((1, 2), "1 is mono, 2 stereo")] | None = Field(
        None, description="1 (mono) or 2 (stereo)"
    )
    start: Seconds | None = Field(None, description="Seconds (decimal) to cut from the start")
    end: Annotated[float, Field(gt=0.0, le=MAX_SECONDS)] | None = Field(
        None, description="Where the MP3 ends, in seconds of the source (after start)"
    )
    loudness: float | None = Field(
        None,
        ge=-30.0,
        le=-5.0,
        description="Integrated loudness to reach, LUFS (-30 to -5); true peak at most -1 dBTP",
    )
    title: Tag | None = Field(None, description="ID3 title")
    artist: Tag | None = Field(None, description="ID3 artist")
    album: Tag | None = Field(None, description="ID3 album")
    year: int | None = Field(None, ge=1000, le=9999, description="ID3 year")
    comment: Comment | None = Field(None, description="ID3 comment")
    track: str | None = Field(
        None,
        pattern=r"^[1-9][0-9]{0,3}(/[1-9][0-9]{0,3})?$",
        description="ID3 track number: 3 or 3/12",
    )
    cover: Cover = Field(
        Cover.AUTO,
        description="auto: the source's embedded picture; frame: a still of the video; none",
    )
    audio_track: int = Field(
        0, ge=0, le=63, description="Which audio stream, counted from 0 (default the first)"
    )

    @property
    def changes_audio(self) -> bool:
        """Whether the audio itself is re-encoded differently (an MP3 source cannot be copied)."""
        changing = (self.bitrate, self.quality, self.sample_rate, self.channels, self.loudness)
        return any(v is not None for v in (*changing, self.start, self.end))

    @property
    def needs_whole_file(self) -> bool:
        """Loudness is measured over the whole file first, and a frame is taken at a tenth of
        it: such jobs wait for the upload to end rather than convert while it arrives."""
        return self.loudness is not None or self.cover is Cover.FRAME

    @property
    def trimmed(self) -> bool:
        """Whether only part of the media is kept."""
        return self.start is not None or self.end is not None

    def tags(self) -> dict[str, str]:
        """The ID3 tags asked for, under ffmpeg's metadata keys."""
        given = {
            "title": self.title,
            "artist": self.artist,
            "album": self.album,
            "date": None if self.year is None else str(self.year),
            "comment": self.comment,
            "track": self.track,
        }
        return {key: value for key, value in given.items() if value is not None}

    def public(self) -> dict[str, Any]:
        """The options as the job resource shows them: only what was set, and the cover."""
        return self.model_dump(mode="json", exclude_none=True)


# The form fields an upload may carry besides `file` (the model's fields are the options).
OPTION_FIELDS = frozenset(ConversionOptions.model_fields)
DEFAULT_OPTIONS = ConversionOptions()


@dataclass(frozen=True)
class FieldError:
    """One bad form field and what is wrong with it."""

    field: str
    detail: str


class InvalidOptions(ValueError):
    """Some options are not acceptable; each error names its field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.detail}" for e in errors))
        self.errors = errors


def parse_options(fields: Sequence[tuple[str, str]]) -> ConversionOptions:
    """Resolve form fields (name, value) into options, or raise InvalidOptions naming each bad
    field. Explicit fields override the preset's; `bitrate` or `quality` replaces its mode."""
    errors, explicit = _explicit(fields)
    preset: Mapping[str, object] = {}
    if (name := explicit.get("preset")) is not None:
        if name in PRESETS:
            preset = PRESETS[name].options
        else:
            errors.append(FieldError("preset", f"unknown preset; known: {', '.join(PRESETS)}"))
    if "bitrate" in explicit and "quality" in explicit:
        detail = "give bitrate (constant bit rate) or quality (variable), not both"
        errors += [FieldError("bitrate", detail), FieldError("quality", detail)]
    if "bitrate" in explicit or "quality" in explicit:
        preset = {k: v for k, v in preset.items() if k not in ("bitrate", "quality")}
    try:
        options = ConversionOptions.model_validate({**preset, **explicit})
    except ValidationError as exc:
        errors += [_field_error(err) for err in exc.errors()]
        raise InvalidOptions(_unique(errors)) from exc
    if options.end is not None and options.end <= (options.start or 0.0):
        errors.append(FieldError("end", "must be later than start"))
    if errors:
        raise InvalidOptions(_unique(errors))
    return options


def _explicit(fields: Sequence[tuple[str, str]]) -> tuple[list[FieldError], dict[str, str]]:
    errors: list[FieldError] = []
    explicit: dict[str, str] = {}
    for name, value in fields:
        if name not in OPTION_FIELDS:
            known = ", ".join(sorted(OPTION_FIELDS))
            errors.append(FieldError(name[:64], f"unknown field; the options are: {known}"))
        elif name in explicit:
            errors.append(FieldError(name, "given more than once"))
        elif value.strip() != "":  # a blank field (an empty form input) means "not set"
            explicit[name] = value.strip() if name not in _TEXT_FIELDS else value
    return errors, explicit


_TEXT_FIELDS = frozenset({"title", "artist", "album", "comment"})


def _field_error(err: Any) -> FieldError:
    loc = err.get("loc") or ("options",)
    message = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
    return FieldError(str(loc[0]), message)


def _unique(errors: list[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))


def nearest_mp3_rate(rate: int | None) -> int:
    """The MP3 sample rate closest to a source's (44.1 kHz when it is not known)."""
    if not rate:
        return 44100
    return min(MP3_SAMPLE_RATES, key=lambda allowed: (abs(allowed - rate), -allowed))
