"""SecantusDB, a MongoDB wire-protocol server, run from its own tool environment as a process.

It is GPL-2.0: it is never imported, only started as a separate program.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

TOOL_ENV = Path(".tools/secantusdb")


def tool_roots() -> tuple[Path, Path]:
    """Where `make bootstrap`'s .tools/ may be: the current directory, then this checkout."""
    return Path.cwd(), Path(__file__).resolve().parents[3]


START_TIMEOUT_SECONDS = 30.0


def secantusd_binary() -> Path:
    """The server program: $SECANTUSD_BIN, else the tool env, else the PATH."""
    if explicit := os.environ.get("SECANTUSD_BIN"):
        return Path(explicit)
    for root in tool_roots():
        candidate = root / TOOL_ENV / "bin" / "secantusd-py"
        if candidate.exists():
            return candidate
    found = shutil.which("secantusd-py")
    if found is None:
        raise FileNotFoundError("secantusd-py not found: run `make bootstrap` (tool env .tools/)")
    return Path(found)


# Ports are picked below the kernel's ephemeral range: a port the kernel picked (bind to port 0)
# could be taken by any outgoing connection in the seconds before its server binds it, and a role
# then failed to start with "address already in use".
LOWEST_PORT = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Handed out by this process, maybe not bound yet: never handed out twice.
_handed_out: set[int] = set()


def _first_ephemeral_port() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range
    (so no outgoing connection takes it before its server binds it), never given out twice."""
    ceiling = _first_ephemeral_port()
    if ceiling - LOWEST_PORT >= 1000:
        for _ in range(500):
            port = LOWEST_PORT + secrets.randbelow(ceiling - LOWEST_PORT)
            if port not in _handed_out and _can_bind(port):
                _handed_out.add(port)
                return port
    with socket.socket() as sock:  # an unusual range: the kernel's choice
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _can_bind(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def mongodb_url(port: int) -> str:
    """The URL the roles use to reach a local SecantusDB.

    Without retryable writes: SecantusDB spends about half its CPU on their bookkeeping (raw
    GridFS writes ran 1.5x faster without), and on loopback a retry would not help anyway.
    """
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


def wait_until_answers(url: str, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    """Block until a ping succeeds; raise if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"SecantusDB exited with code {process.returncode}")
        try:
            client: MongoClient[dict[str, object]]
            with MongoClient(url, serverSelectionTimeoutMS=500) as client:
                client.admin.command("ping")
                return
        except PyMongoError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"SecantusDB at {url} did not answer in {timeout} s") from None
            time.sleep(0.2)


def start_secantus(storage: Path, port: int, log_file: Path) -> subprocess.Popen[bytes]:
    """Start SecantusDB on 127.0.0.1:port with its data in `storage`; wait until it answers."""
    storage.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [
                str(secantusd_binary()),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage-path",
                str(storage),
                "--cache-size",
                "256M",
                "--standalone",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Its threads each grew a glibc arena around GridFS chunks (255 KiB then): under
            # concurrent reads and writes RSS reached 4 GB with a 256 MB WiredTiger cache; two
            # arenas keep it under half of that, and it runs faster.
            env={**os.environ, "MALLOC_ARENA_MAX": "2"},
        )
    try:
        wait_until_answers(mongodb_url(port), START_TIMEOUT_SECONDS, process)
    except BaseException:
        stop_process(process)
        raise
    return process


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
