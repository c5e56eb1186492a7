"""Local scratch space for one conversion, created and removed off the event loop."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio


@asynccontextmanager
async def scratch_dir(parent: Path | None) -> AsyncIterator[Path]:
    """A private temporary directory, removed with everything in it on exit."""
    path = await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="mp3c-", dir=parent))
    try:
        yield Path(path)
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))
