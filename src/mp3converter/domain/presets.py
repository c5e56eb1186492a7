"""Named sets of conversion options; explicit fields of an upload override a preset's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Preset:
    """A named set of options and what it is for."""

    description: str
    options: Mapping[str, object]


def _preset(description: str, **options: object) -> Preset:
    return Preset(description, MappingProxyType(options))


PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        "podcast": _preset(
            "What podcast platforms ask for: 128 kbit/s CBR, 44.1 kHz stereo, -16 LUFS",
            bitrate=128,
            sample_rate=44100,
            channels=2,
            loudness=-16.0,
        ),
        "speech": _preset(
            "Talks and lectures: mono, 64 kbit/s CBR, -19 LUFS",
            channels=1,
            bitrate=64,
            loudness=-19.0,
        ),
        "music-high": _preset("Music at LAME's best variable quality (VBR 0)", quality=0),
        "small": _preset(
            "The smallest file that is still pleasant: VBR 7, mono", quality=7, channels=1
        ),
    }
)
