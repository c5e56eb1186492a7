"""The five roles as child processes with role-prefixed output, restarted when one exits."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from mp3converter.devstack.converter_ffmpeg import converter_ffmpeg
from mp3converter.devstack.secantus import stop_process
from mp3converter.roles import ROLES

COLORS = {"gateway": 36, "auth": 35, "upload": 34, "converter": 33, "notification": 32}


@dataclass
class Backoff:
    """Delays between restarts of one role, as Kubernetes' CrashLoopBackOff: doubling from
    `first` up to `longest`, back to `first` once the role stayed up for `stable` seconds."""

    first: float = 0.5
    longest: float = 30.0
    stable: float = 60.0
    _next: float = field(default=0.0, init=False)

    def after_exit(self, uptime: float) -> float:
        """How long to wait before starting again a role that ran for `uptime` seconds."""
        if uptime >= self.stable or not self._next:
            self._next = self.first
        delay = self._next
        self._next = min(delay * 2, self.longest)
        return delay


def role_environment(base: Mapping[str, str], ports: Mapping[str, int]) -> dict[str, str]:
    """Environment shared by every role: where the others listen."""
    env = dict(base)
    env["AUTH_URL"] = f"http://127.0.0.1:{ports['auth']}"
    env["UPLOAD_URL"] = f"http://127.0.0.1:{ports['upload']}"
    env["NOTIFICATION_URL"] = f"http://127.0.0.1:{ports['notification']}"
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{ports['gateway']}")
    return env


def _pump(role: str, stream: IO[bytes], sink: IO[str], log: IO[bytes] | None) -> None:
    color = COLORS.get(role, 0) if sink.isatty() else 0
    prefix = f"\033[{color}m{role:>12} |\033[0m " if color else f"{role:>12} | "
    try:
        for raw in iter(stream.readline, b""):
            if log is not None:
                log.write(raw)
                log.flush()
            sink.write(prefix + raw.decode(errors="replace"))
            sink.flush()
    finally:  # the role exited: its output is complete
        if log is not None:
            log.close()


@dataclass
class RoleProcesses:
    """Starts, watches and stops the role processes."""

    env: dict[str, str]
    ports: dict[str, int]
    ops_ports: dict[str, int]
    log_dir: Path | None = None
    sink: IO[str] = field(default_factory=lambda: sys.stdout)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    backoffs: dict[str, Backoff] = field(default_factory=dict)
    started_at: dict[str, float] = field(default_factory=dict)
    # Roles that exited, and when (monotonic) each is started again.
    restart_at: dict[str, float] = field(default_factory=dict)

    def start(self, roles: list[str] | None = None) -> None:
        """Start each role with its own HTTP_PORT and OPS_PORT."""
        for role in roles or list(ROLES):
            ports = {"HTTP_PORT": str(self.ports[role]), "OPS_PORT": str(self.ops_ports[role])}
            env = {**self.env, **ports}
            process = self.processes[role] = subprocess.Popen(
                [sys.executable, "-m", "mp3converter", "run", role],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            self.started_at[role] = time.monotonic()
            log = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                log = (self.log_dir / f"{role}.log").open("ab")
            assert process.stdout is not None
            threading.Thread(
                target=_pump, args=(role, process.stdout, self.sink, log), daemon=True
            ).start()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until every role answers /readyz (on its ops port) with 200."""
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        while pending:
            for role in list(pending):
                process = self.processes[role]
                if process.poll() is not None:
                    raise RuntimeError(f"role {role} exited with code {process.returncode}")
                try:
                    response = httpx.get(
                        f"http://127.0.0.1:{self.ops_ports[role]}/readyz", timeout=2
                    )
                    if response.status_code == 200:
                        pending.discard(role)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"roles not ready after {timeout} s: {sorted(pending)}")
            time.sleep(0.2)

    def exited(self) -> dict[str, int]:
        """Roles that have exited, with their exit codes."""
        return {r: p.returncode for r, p in self.processes.items() if p.poll() is not None}

    def supervise(self, now: float | None = None) -> None:
        """One round of supervision: schedule the restart of each role that exited (with its
        backoff, logged) and start those whose delay is over. Never called once stopping."""
        now = time.monotonic() if now is None else now
        for role, code in self.exited().items():
            if role in self.restart_at:
                continue
            uptime = now - self.started_at.get(role, now)
            delay = self.backoffs.setdefault(role, Backoff()).after_exit(uptime)
            self.restart_at[role] = now + delay
            self._say(
                f"supervisor: role {role} exited unexpectedly with code {code} after "
                f"{uptime:.1f} s; restarting it in {delay:.1f} s"
            )
        for role, due in list(self.restart_at.items()):
            if due <= now:
                del self.restart_at[role]
                self.start([role])
                self._say(f"supervisor: restarted role {role} (pid {self.processes[role].pid})")

    def _say(self, line: str) -> None:
        self.sink.write(line + "\n")
        self.sink.flush()

    def stop(self) -> None:
        """SIGTERM every role (gateway first), then wait for each."""
        for role in ["gateway", *[r for r in self.processes if r != "gateway"]]:
            if role in self.processes and self.processes[role].poll() is None:
                self.processes[role].terminate()
        for process in self.processes.values():
            stop_process(process)


def base_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment, the converter's ffmpeg (the tool build), plus overrides."""
    return {**os.environ, **converter_ffmpeg().environment(), **overrides}
