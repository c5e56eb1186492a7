"""Child processes with pipes that never outlive the code that started them."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

STDERR_TAIL_BYTES = 8192


@asynccontextmanager
async def spawn(args: list[str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start a piped subprocess; kill and reap it if the block exits before it does."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            with suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def read_tail(stream: asyncio.StreamReader) -> str:
    """Read a stream to its end, keeping only its last few KiB (bounded memory)."""
    tail = b""
    while chunk := await stream.read(4096):
        tail = (tail + chunk)[-STDERR_TAIL_BYTES:]
    return tail.decode(errors="replace")
