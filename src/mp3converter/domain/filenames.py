"""Names of files as the user sees them."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

MAX_NAME = 255


def clean_filename(name: str) -> str:
    """Keep only the last path component, without control characters, bounded in length."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:MAX_NAME] or "video"


def mp3_name(original: str) -> str:
    """The download name: the original file's stem with .mp3."""
    stem = PurePosixPath(clean_filename(original)).stem or "audio"
    return f"{stem}.mp3"


def content_disposition(filename: str) -> str:
    """An attachment header safe for any Unicode name (RFC 6266 / RFC 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    ascii_name = ascii_name.replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
