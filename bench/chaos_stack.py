"""The chaos suite's stack, every part of which a scenario may break: a private SecantusDB, a real
SMTP server that can be made slow, the five roles as processes, the converter's scratch directory
on a small tmpfs (root only) and the machine's RabbitMQ (restarted briefly, always brought back)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from pymongo import MongoClient

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, AMQP_URL
from mp3converter.adapters.rabbitmq import Topology, delete_topology
from mp3converter.devstack.processes import RoleProcesses, base_environment, role_environment
from mp3converter.devstack.secantus import free_port, mongodb_url, start_secantus, stop_process
from mp3converter.roles import ROLES

SCRATCH_MIB = 64
BROKER_START_TIMEOUT = 120.0


def log(message: str) -> None:
    """Progress, on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class SlowMailbox:
    """An aiosmtpd handler that keeps what it receives and waits `delay` seconds on MAIL, RCPT
    and DATA, like a congested mail relay."""

    delay: float = 0.0
    received: list[tuple[float, str]] = field(default_factory=list)

    async def handle_MAIL(  # noqa: N802 (aiosmtpd hook names)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """Accept the sender, late."""
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """Accept a recipient, late."""
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Keep the message, late."""
        await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        text = str(body.get_content()) if body is not None else ""
        self.received.append((time.monotonic(), f"{message['Subject']}\n{text}"))
        return "250 OK"

    def mentioning(self, text: str) -> list[float]:
        """When each received message that mentions `text` (a job id) arrived."""
        return [at for at, content in self.received if text in content]


@dataclass
class Database:
    """A SecantusDB of the suite alone, so it can be stopped and started again on its port."""

    storage: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again) with the same data; returns once it answers."""
        self.process = start_secantus(self.storage, self.port, self.storage / "secantusdb.log")

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 15 s), as an orchestrator restarting it would."""
        if self.process is not None:
            stop_process(self.process)

    @property
    def url(self) -> str:
        """Where it listens."""
        return mongodb_url(self.port)


def _ctl(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def broker_running() -> bool:
    """Whether the machine's RabbitMQ application answers and runs."""
    try:
        return _ctl("await_startup", "--timeout", "5", timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def ensure_broker_running() -> None:
    """Bring the broker's application back (start_app, else a fresh node); raise if it is not."""
    if broker_running():
        return
    _ctl("start_app", timeout=BROKER_START_TIMEOUT)
    if not broker_running():
        log("start_app did not bring RabbitMQ back; starting the node (rabbitmq-server -detached)")
        subprocess.run(["rabbitmq-server", "-detached"], check=False, capture_output=True)
        _ctl("await_startup", "--timeout", str(int(BROKER_START_TIMEOUT)), timeout=150)
    if not broker_running():
        raise RuntimeError("RabbitMQ is not running after the restart: start it by hand")


@contextlib.contextmanager
def broker_down() -> Iterator[None]:
    """The machine's RabbitMQ application stopped (`rabbitmqctl stop_app`) for the block; always
    started again and checked afterwards, even on an error or an interrupt."""
    try:
        result = _ctl("stop_app", timeout=BROKER_START_TIMEOUT)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl stop_app failed: {result.stderr.strip()}")
        yield
    finally:
        _ctl("start_app", timeout=BROKER_START_TIMEOUT)
        ensure_broker_running()


@contextlib.contextmanager
def scratch_space(path: Path) -> Iterator[bool]:
    """A SCRATCH_MIB tmpfs at path (True) when this process may mount one, else a plain
    directory (False); unmounted on exit."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SCRATCH_MIB}m,mode=0700", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        )
        mounted = result.returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(directory: Path) -> Path:
    """Write a ballast file until the file system is full; its path."""
    ballast = directory / "ballast"
    # Unbuffered: a write that does not fit fails at once, and closing has nothing left to flush.
    with ballast.open("wb", buffering=0) as out:
        for size in (1 << 20, 4096):  # whole MiBs, then the last pages
            with contextlib.suppress(OSError):
                while out.write(b"\0" * size):
                    pass
    return ballast


@dataclass
class Stack:
    """Everything running, and what scenarios need to reach into it."""

    tmp: Path
    db: Database
    mailbox: SlowMailbox
    roles: RoleProcesses
    scratch: Path
    scratch_is_tmpfs: bool
    prefix: str
    # Orphan GridFS files already reported: each run counts only the ones it made.
    seen_orphans: set[str] = field(default_factory=set)

    @property
    def gateway_url(self) -> str:
        """The public entry."""
        return f"http://127.0.0.1:{self.roles.ports['gateway']}"

    def mongo(self) -> MongoClient[dict[str, Any]]:
        """A synchronous client on the suite's database server."""
        return MongoClient(self.db.url, serverSelectionTimeoutMS=5000, tz_aware=True)

    @property
    def db_name(self) -> str:
        """The platform's database."""
        return self.roles.env["MONGODB_DB"]

    def kill_converter(self) -> int:
        """SIGKILL the converter role (its ffmpeg children die with it); its pid."""
        process = self.roles.processes["converter"]
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return process.pid

    def start_converter(self) -> None:
        """Start the converter role again and wait until it is ready."""
        self.roles.start(["converter"])
        self.roles.wait_ready(60)

    def scratch_leftovers(self) -> list[str]:
        """Conversion directories left in the scratch space."""
        return sorted(p.name for p in self.scratch.iterdir() if p.name.startswith("mp3c-"))


@contextlib.contextmanager
def running_stack(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Start everything; stop it all and delete the suite's queues on exit."""
    prefix = f"chaos-{secrets.token_hex(4)}"
    db = Database(tmp / "db")
    db.start()
    mailbox = SlowMailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    ports = {role: free_port() for role in ROLES}
    ops_ports = {role: free_port() for role in ROLES}
    scratch = tmp / "scratch"
    try:
        with scratch_space(scratch) as is_tmpfs, (tmp / "roles.out").open("w") as sink:
            overrides = {
                "MONGODB_URL": db.url,
                "MONGODB_DB": prefix.replace("-", "_"),
                "AMQP_URL": AMQP_URL,
                "BROKER_PREFIX": prefix,
                "ADMIN_EMAIL": ADMIN_EMAIL,
                "ADMIN_PASSWORD": ADMIN_PASSWORD,
                "DATA_DIR": str(tmp / "data"),
                "WORK_DIR": str(scratch),
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(smtp_port),
                # One user uploads every burst: the per-user cap would refuse most of it.
                "MAX_JOBS_IN_FLIGHT_PER_USER": "1000",
                "LOG_LEVEL": "INFO",
                **(extra_env or {}),
            }
            env = role_environment(base_environment(overrides), ports)
            roles = RoleProcesses(env, ports, ops_ports, log_dir=tmp / "logs", sink=sink)
            try:
                roles.start()
                roles.wait_ready(90)
                yield Stack(tmp, db, mailbox, roles, scratch, is_tmpfs, prefix)
            finally:
                roles.stop()
    finally:
        controller.stop()
        db.stop()
        ensure_broker_running()
        asyncio.run(delete_topology(AMQP_URL, Topology(prefix)))
