"""The five roles as child processes with role-prefixed output."""

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

from mp3converter.devstack.secantus import stop_process
from mp3converter.roles import ROLES

COLORS = {"gateway": 36, "auth": 35, "upload": 34, "converter": 33, "notification": 32}


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

    def start(self, roles: list[str] | None = None) -> None:
        """Start each role with its own HTTP_PORT and OPS_PORT."""
        for role in roles or list(ROLES):
            ports = {"HTTP_PORT": str(self.ports[role]), "OPS_PORT": str(self.ops_ports[role])}
            env = {**self.env, **ports}
            process = subprocess.Popen(
                [sys.executable, "-m", "mp3converter", "run", role],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            log = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                log = (self.log_dir / f"{role}.log").open("ab")
            assert process.stdout is not None
            threading.Thread(
                target=_pump, args=(role, process.stdout, self.sink, log), daemon=True
            ).start()
            self.processes[role] = process

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

    def stop(self) -> None:
        """SIGTERM every role (gateway first), then wait for each."""
        for role in ["gateway", *[r for r in self.processes if r != "gateway"]]:
            if role in self.processes and self.processes[role].poll() is None:
                self.processes[role].terminate()
        for process in self.processes.values():
            stop_process(process)


def base_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus overrides."""
    return {**os.environ, **overrides}
