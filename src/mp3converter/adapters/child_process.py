"""Child processes that see only what they need and never outlive the code that started them."""

import asyncio
import ctypes
import math
import os
import resource
import signal
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

STDERR_TAIL_BYTES = 8192
_PR_SET_PDEATHSIG = 1
# Looked up before any fork: the child only calls it.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


@dataclass(frozen=True)
class ChildLimits:
    """Kernel limits for one child; wall time is bounded by the caller's deadline."""

    cpu_seconds: float
    memory_bytes: int
    file_bytes: int
    niceness: int = 10
    open_files: int = 256


def minimal_environment(home: Path) -> dict[str, str]:
    """PATH and a UTF-8 locale: no secret of the parent reaches the child."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(home),
        # glibc reserves 64 MiB of address space per thread arena; keep the child's small.
        "MALLOC_ARENA_MAX": "2",
    }


def _lowered(resource_id: int, soft: int, hard: int) -> tuple[int, int]:
    # An unprivileged process may lower its hard limit but never raise it.
    _, current = resource.getrlimit(resource_id)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    return soft, hard


def _confine(limits: ChildLimits) -> Callable[[], None]:
    """What the child runs between fork and exec; everything is computed before the fork."""
    cpu = math.ceil(limits.cpu_seconds)
    settings = [
        # SIGXCPU at the soft limit, SIGKILL at the hard one.
        (resource.RLIMIT_CPU, _lowered(resource.RLIMIT_CPU, cpu, cpu + 5)),
        (resource.RLIMIT_AS, _lowered(resource.RLIMIT_AS, *[limits.memory_bytes] * 2)),
        # Writing past it raises SIGXFSZ, which kills the child: its output cannot grow further.
        (resource.RLIMIT_FSIZE, _lowered(resource.RLIMIT_FSIZE, *[limits.file_bytes] * 2)),
        (resource.RLIMIT_NOFILE, _lowered(resource.RLIMIT_NOFILE, *[limits.open_files] * 2)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]

    def apply() -> None:
        if _LIBC is not None:  # killed with its parent, even when the parent is SIGKILLed
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        for resource_id, limit in settings:
            resource.setrlimit(resource_id, limit)
        os.nice(limits.niceness)

    return apply


@asynccontextmanager
async def spawn(
    args: list[str], *, cwd: Path, limits: ChildLimits, stdin: bool = False
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start a confined, piped subprocess in cwd (stdin a pipe if asked, else /dev/null); kill
    and reap it if the block exits first."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=minimal_environment(cwd),
        preexec_fn=_confine(limits),  # runs in the child: no locks, no allocation of note
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


class OutputTooLarge(Exception):
    """A child wrote more to a pipe than the reader accepts."""


async def read_at_most(stream: asyncio.StreamReader, limit: int) -> bytes:
    """Read a stream to its end, or raise OutputTooLarge past `limit` bytes."""
    data = bytearray()
    while chunk := await stream.read(65536):
        data += chunk
        if len(data) > limit:
            raise OutputTooLarge(f"more than {limit} bytes")
    return bytes(data)


async def feed(stdin: asyncio.StreamWriter, chunks: AsyncIterable[bytes]) -> None:
    """Write the chunks to a child's stdin, then close it. A child that stops reading (it
    exited) is not an error here: its exit code says why. An error of the chunks closes stdin
    first, so the child sees the end of its input, then propagates."""
    try:
        async for chunk in chunks:
            stdin.write(chunk)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        with suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()
