"""Parser for the `key=value` blocks that `ffmpeg -progress pipe:1 -nostats` prints."""

from dataclasses import dataclass

_TIME_KEYS = frozenset({"out_time_us", "out_time_ms"})  # both are microseconds


@dataclass(frozen=True)
class ProgressUpdate:
    """The position ffmpeg reported at the end of one progress block."""

    out_seconds: float
    finished: bool


class ProgressParser:
    """Turns progress lines into one update per block."""

    def __init__(self) -> None:
        self._out_seconds = 0.0

    def feed(self, line: str) -> ProgressUpdate | None:
        """Consume one line; return an update when it closes a block."""
        key, sep, value = line.partition("=")
        if not sep:
            return None
        key, value = key.strip(), value.strip()
        if key in _TIME_KEYS:
            micros = _to_int(value)
            if micros is not None:
                # The first block may be negative because of encoder priming.
                self._out_seconds = max(0.0, micros / 1_000_000)
        elif key == "progress":
            return ProgressUpdate(out_seconds=self._out_seconds, finished=value == "end")
        return None


def fraction(out_seconds: float, total_seconds: float | None) -> float:
    """Return out_seconds / total_seconds clamped to 0..1 (0 when the total is unknown)."""
    if total_seconds is None or total_seconds <= 0:
        return 0.0
    return min(1.0, max(0.0, out_seconds / total_seconds))


def _to_int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:  # "N/A" before the first packet
        return None
