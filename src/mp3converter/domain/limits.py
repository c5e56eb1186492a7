"""What one conversion job may cost."""

from __future__ import annotations

from dataclasses import dataclass

HOUR = 3600.0


@dataclass(frozen=True)
class MediaLimits:
    """Deadlines of each child process, media length, output size and a child's resources."""

    probe_seconds: float = 30.0
    conversion_seconds: float = HOUR
    max_media_seconds: float = 4 * HOUR
    max_output_bytes: int = 1024**3
    child_memory_bytes: int = 2 * 1024**3
    child_niceness: int = 10
