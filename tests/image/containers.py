"""The five roles as containers of the image, locked down as compose and Kubernetes run them."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mp3converter.roles import ROLES
from tests.image.engine import engine

# Read-only root, no capabilities, no privilege gain, a fixed non-root UID; scratch and DATA_DIR
# on a tmpfs /tmp (podman 4.3 mounts a tmpfs over the image's /data as root, mode 0750).
LOCKED_DOWN = [
    "--network=host",
    "--read-only",
    "--user=10001:10001",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--tmpfs=/tmp:rw,mode=1777",
]


@dataclass
class RoleContainers:
    """Runs each role in its own container (in the foreground of a child process)."""

    image: str
    env: dict[str, str]
    ports: dict[str, int]
    ops_ports: dict[str, int]
    log_dir: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def name(self, role: str) -> str:
        """The container's name."""
        return f"mp3converter-test-{self.run_id}-{role}"

    def start(self) -> None:
        """Start every role with its ports; output goes to log_dir/<role>.log."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for role in ROLES:
            env = {**self.env, "DATA_DIR": "/tmp", "HTTP_PORT": str(self.ports[role])}
            env["OPS_PORT"] = str(self.ops_ports[role])
            settings = [f"--env={key}={value}" for key, value in env.items()]
            command = [*engine(), "run", "--rm", f"--name={self.name(role)}", *LOCKED_DOWN]
            with (self.log_dir / f"{role}.log").open("wb") as log:
                self.processes[role] = subprocess.Popen(
                    [*command, *settings, self.image, "run", role],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )

    def wait_ready(self, timeout: float) -> None:
        """Block until every role answers /readyz on its ops port."""
        deadline = time.monotonic() + timeout
        pending = set(ROLES)
        while pending:
            for role in sorted(pending):
                if self.processes[role].poll() is not None:
                    raise RuntimeError(f"{role} exited: {self.log(role)[-2000:]}")
                try:
                    url = f"http://127.0.0.1:{self.ops_ports[role]}/readyz"
                    if httpx.get(url, timeout=2).status_code == 200:
                        pending.discard(role)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout} s: {sorted(pending)}")
            time.sleep(0.3)

    def log(self, role: str) -> str:
        """What the role printed so far."""
        return (self.log_dir / f"{role}.log").read_text(errors="replace")

    def inspect(self, role: str, template: str) -> str:
        """One field of the running container, by Go template."""
        command = [*engine(), "inspect", "--format", template, self.name(role)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    def stop(self) -> None:
        """SIGTERM every container (as compose stops them), then remove what is left."""
        # One name per command: a container already gone (--rm) fails the command for the rest.
        names = [self.name(role) for role in self.processes]
        stops = [
            subprocess.Popen([*engine(), "stop", "--time=35", name], stdout=subprocess.DEVNULL)
            for name in names
        ]
        for process in [*stops, *self.processes.values()]:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        for name in names:
            subprocess.run([*engine(), "rm", "--force", name], capture_output=True, check=False)


@contextmanager
def running_containers(
    image: str, env: Mapping[str, str], log_dir: Path, ports: dict[str, int], ops: dict[str, int]
) -> Iterator[RoleContainers]:
    """The five roles running from the image until the block ends."""
    roles = RoleContainers(image, dict(env), ports, ops, log_dir)
    try:
        roles.start()
        roles.wait_ready(120)
        yield roles
    finally:
        roles.stop()
