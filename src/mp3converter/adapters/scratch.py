"""Local scratch space for one conversion, created and removed off the event loop.

Each directory is named after the process that made it (`mp3c-<pid>-…`), so a converter that
starts after one was killed (SIGKILL, OOM: no clean-up ran) removes what the dead one left; a
video copy per killed job would otherwise fill the work directory over time."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

PREFIX = "mp3c-"
_OWNED = re.compile(rf"^{PREFIX}(\d+)-")


@asynccontextmanager
async def scratch_dir(parent: Path | None) -> AsyncIterator[Path]:
    """A private temporary directory, removed with everything in it on exit."""
    prefix = f"{PREFIX}{os.getpid()}-"
    path = await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield Path(path)
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale(parent: Path | None) -> list[str]:
    """Remove the scratch directories of processes that are gone, and any of this process's pid
    (made before a restart that reused it, as PID 1 of a container is); the names removed. Call
    it before the first conversion: it blocks."""
    directory = Path(parent or tempfile.gettempdir())
    removed = []
    for path in directory.glob(f"{PREFIX}*"):
        owner = _OWNED.match(path.name)
        if owner is None or not path.is_dir():
            continue
        pid = int(owner.group(1))
        if pid == os.getpid() or not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return sorted(removed)
