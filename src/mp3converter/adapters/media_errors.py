"""Permanent failures caused by the input media, with machine codes."""

import re

from mp3converter.domain.jobs import FailureCode

_MAX_REASON = 200
# ffmpeg's closing lines repeat the error without saying what went wrong.
_BOILERPLATE = ("Conversion failed!", "To ignore this", "Exiting normally")
_CONTEXT_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*")


class MediaError(Exception):
    """The input cannot be converted; retrying will not help."""

    def __init__(self, code: FailureCode, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


def reason_from_stderr(stderr: str, fallback: str) -> str:
    """Return the last meaningful line of ffmpeg/ffprobe stderr, shortened for humans."""
    for line in reversed(stderr.splitlines()):
        text = _CONTEXT_PREFIX.sub("", line.strip())
        if text and not text.startswith(_BOILERPLATE):
            return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
    return fallback
