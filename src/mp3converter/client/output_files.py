"""Where a downloaded MP3 goes: its name, and writing it without ever replacing a file.

The name comes from the local input's stem (`talk.mp4` → `talk.mp3`); for `download JOB_ID`,
which has no local input, from the job's file name after `safe_stem` has stripped it of
anything that could point elsewhere. The bytes go to a hidden temporary file in the target
directory, which is then hard-linked under the first free name among `talk.mp3`,
`talk (1).mp3`, `talk (2).mp3`, …: a link never replaces an existing file, so a file that
appears meanwhile is not overwritten either, and no half-written MP3 ever has the final name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

# File systems cap a name at 255 bytes: the stem keeps room for " (999).mp3" and the
# ".<stem[:40]>.XXXXXXXX.part" of the temporary file.
MAX_STEM_BYTES = 200
MAX_CANDIDATES = 1000
_FORBIDDEN = set('/\\:*?"<>|')
_INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn")  # controls, format, surrogates, private, unassigned


def safe_stem(name: str, fallback: str) -> str:
    """A file stem from an untrusted name: no directories, no control or invisible characters,
    no leading dot; `fallback` when nothing is left."""
    base = PureWindowsPath(PurePosixPath(name).name).name  # last component either way
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in stem
        if ch.isspace() or (ch not in _FORBIDDEN and unicodedata.category(ch) not in _INVISIBLE)
    )
    cleaned = " ".join(kept.split()).strip(". ")
    cut = cleaned.encode()[:MAX_STEM_BYTES].decode(errors="ignore").strip(". ")
    return cut or fallback


def candidates(directory: Path, stem: str, suffix: str = ".mp3") -> Iterator[Path]:
    """`stem.mp3`, then `stem (1).mp3`, `stem (2).mp3`, … in `directory`."""
    yield directory / f"{stem}{suffix}"
    for n in range(1, MAX_CANDIDATES):
        yield directory / f"{stem} ({n}){suffix}"


def save_new_file(directory: Path, stem: str, chunks: Iterable[bytes]) -> Path:
    """Write `chunks` to the first free name for `stem` in `directory`; return that path."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{stem[:40]}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            _write_all(file, chunks)
            os.fchmod(file.fileno(), 0o666 & ~_umask())  # mkstemp's 0600 is for secrets
        return _link_to_free_name(Path(temporary), directory, stem)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _write_all(file: BinaryIO, chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        file.write(chunk)
    file.flush()
    os.fsync(file.fileno())


def _link_to_free_name(temporary: Path, directory: Path, stem: str) -> Path:
    for candidate in candidates(directory, stem):
        try:
            os.link(temporary, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            return _claim_then_replace(temporary, directory, stem)  # no hard links here
        return candidate
    raise FileExistsError(f"{directory / stem}.mp3 and {MAX_CANDIDATES} variants all exist")


def _claim_then_replace(temporary: Path, directory: Path, stem: str) -> Path:
    # Without hard links: create the name exclusively, then move the finished file onto it.
    for candidate in candidates(directory, stem):
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        os.replace(temporary, candidate)
        return candidate
    raise FileExistsError(f"{directory / stem}.mp3 and {MAX_CANDIDATES} variants all exist")


def _set_and_restore_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# os.umask can only be read by setting it, and two threads (parallel conversions) doing that at
# once could leave the process with the wrong mask: Linux shows it in /proc instead; elsewhere the
# mask at import (before any thread starts) is used.
_UMASK_AT_IMPORT = _set_and_restore_umask()


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _UMASK_AT_IMPORT
