"""The web UI's built files (frontend/build.mjs), read once at start-up and served from memory.

The page is small (tens of KiB), so each file is held as it is and gzipped once, rather than
read and compressed per request.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class StaticFile:
    """One file of the page: its bytes, the same gzipped, its type and a digest of it."""

    body: bytes
    gzipped: bytes
    media_type: str
    digest: str

    @classmethod
    def of(cls, body: bytes, media_type: str) -> StaticFile:
        """The file with its gzipped copy (mtime 0: the same bytes on every start)."""
        digest = hashlib.sha256(body).hexdigest()[:20]
        return cls(body, gzip.compress(body, 9, mtime=0), media_type, digest)


@dataclass(frozen=True)
class UiBundle:
    """index.html and the assets it names; every asset's name carries its content hash."""

    page: StaticFile
    assets: Mapping[str, StaticFile]

    @classmethod
    def load(cls, directory: Traversable) -> UiBundle | None:
        """The bundle built into `directory`, or None if the web UI was not built."""
        index = directory / "index.html"
        if not index.is_file():
            return None
        assets: dict[str, StaticFile] = {}
        folder = directory / "assets"
        if folder.is_dir():
            for entry in folder.iterdir():
                media_type = MEDIA_TYPES.get(_suffix(entry.name))
                if entry.is_file() and media_type is not None:
                    assets[entry.name] = StaticFile.of(entry.read_bytes(), media_type)
        return cls(
            StaticFile.of(index.read_bytes(), MEDIA_TYPES[".html"]), MappingProxyType(assets)
        )


def packaged_bundle() -> UiBundle | None:
    """The bundle shipped in the package (src/mp3converter/web_ui/), if it was built."""
    return UiBundle.load(resources.files("mp3converter") / "web_ui")


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""
