"""Names of files as the user sees them."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

MAX_NAME = 255


def _is_control(ch: str) -> bool:
    # Control, format, private-use and unassigned characters: invisible, or line breaks
    # (U+0085 is one) in str.splitlines, email headers and terminals.
    return unicodedata.category(ch)[0] == "C"


def _is_separator(ch: str) -> bool:
    # The line and paragraph separators U+2028 and U+2029 end lines too, but stand between words.
    return unicodedata.category(ch) in ("Zl", "Zp")


def clean_filename(name: str) -> str:
    """Keep only the last path component, without control characters, bounded in length."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = "".join(" " if _is_separator(ch) else ch for ch in base if not _is_control(ch))
    return base.strip()[:MAX_NAME] or "video"


def header_text(text: str) -> str:
    """Text that fits on one header line whatever it held: breaks and controls become spaces."""
    return " ".join(
        "".join(" " if _is_control(ch) or _is_separator(ch) else ch for ch in text).split()
    )


def mp3_name(original: str) -> str:
    """The download name: the original file's stem with .mp3."""
    stem = PurePosixPath(clean_filename(original)).stem or "audio"
    return f"{stem}.mp3"


def content_disposition(filename: str) -> str:
    """An attachment header safe for any Unicode name (RFC 6266 / RFC 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    ascii_name = ascii_name.replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
