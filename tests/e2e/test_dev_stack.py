"""`make run` (mp3converter dev): the whole platform from one command, stopped by Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from mp3converter.adapters.rabbitmq import Topology
from mp3converter.devstack.secantus import free_port
from mp3converter.roles import ROLES
from tests.media import make_video
from tests.services import delete_topology_blocking, unique_name

pytestmark = pytest.mark.e2e
READY_LINE = "mp3converter is up at"


class DevStack:
    """`python -m mp3converter dev` as a child process, its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mp3converter", "dev"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        stream = self.process.stdout
        threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        ).start()

    def wait_for_line(self, text: str, timeout: float = 90.0) -> None:
        """Block until a line containing text was printed."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.1)

    def interrupt(self) -> list[psutil.Process]:
        """Ctrl-C; returns the children that were running, for checking they are gone."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=60) == 0, "".join(self.lines)
        return children


@pytest.fixture
def dev_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a dev stack on free ports with its own data directory and queues."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMIN_", "SMTP_"))}
    env.update({f"{role.upper()}_PORT": str(free_port()) for role in ROLES})
    env.update({f"{role.upper()}_OPS_PORT": str(free_port()) for role in ROLES})
    env.update(
        {
            "DATA_DIR": str(tmp_path / "data"),
            "SECANTUS_PORT": str(free_port()),
            "BROKER_PREFIX": unique_name("dev"),
            "MONGODB_DB": unique_name("dev").replace("-", "_"),
            "LOG_LEVEL": "WARNING",
        }
    )
    yield env
    delete_topology_blocking(Topology(env["BROKER_PREFIX"]))


def test_make_run_serves_the_seed_flow_and_stops_on_ctrl_c(
    dev_env: dict[str, str], tmp_path: Path
) -> None:
    data = Path(dev_env["DATA_DIR"])
    gateway = f"http://127.0.0.1:{dev_env['GATEWAY_PORT']}"
    first = DevStack(dev_env)
    try:
        first.wait_for_line(READY_LINE)
        first.wait_for_line(f"web UI: {gateway}/")
        password = (data / "admin-password").read_text().strip()
        assert sum(password in line for line in first.lines) == 1  # printed once
        with httpx.Client(base_url=gateway, timeout=30) as client:
            page = client.get("/")
            assert page.status_code == 200, page.text
            assert page.headers["content-type"].startswith("text/html")
            login = client.post("/login", auth=("admin@mp3converter.com", password))
            token = login.json()["access_token"]
            video = make_video(tmp_path / "v.mp4", seconds=2)
            headers = {"Authorization": f"Bearer {token}"}
            with video.open("rb") as body:
                job_id = client.post(
                    "/upload", headers=headers, files={"file": ("v.mp4", body, "video/mp4")}
                ).json()["job_id"]
            deadline = time.monotonic() + 60
            while client.get(f"/jobs/{job_id}", headers=headers).json()["status"] != "done":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert client.get(f"/download/{job_id}", headers=headers).status_code == 200
        deadline = time.monotonic() + 30
        while not list((data / "outbox").glob("*.eml")):
            assert time.monotonic() < deadline, "no .eml in the outbox"
            time.sleep(0.2)
        assert job_id in (next((data / "outbox").glob("*.eml"))).read_text()
    finally:
        children = first.interrupt()
    assert len(children) >= len(ROLES) + 1  # the roles and SecantusDB
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []

    second = DevStack(dev_env)  # data survives a restart; the password is not printed again
    try:
        second.wait_for_line(READY_LINE)
        assert not any(password in line for line in second.lines)
        with httpx.Client(base_url=gateway, timeout=30) as client:
            token = client.post("/login", auth=("admin@mp3converter.com", password)).json()[
                "access_token"
            ]
            jobs = client.get("/jobs", headers={"Authorization": f"Bearer {token}"}).json()["jobs"]
        assert [job["job_id"] for job in jobs] == [job_id]
    finally:
        second.interrupt()


def _role_process(stack: DevStack, role: str) -> psutil.Process:
    """The running process of one role of the stack."""
    for child in psutil.Process(stack.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.cmdline()[-2:] == ["run", role]:
                return child
    raise AssertionError(f"no {role} process")


def test_make_run_restarts_a_role_that_dies_and_not_one_stopped_with_it(
    dev_env: dict[str, str],
) -> None:
    stack = DevStack(dev_env)
    try:
        stack.wait_for_line(READY_LINE)
        killed = _role_process(stack, "converter")
        killed.send_signal(signal.SIGKILL)
        stack.wait_for_line("supervisor: role converter exited unexpectedly with code -9")
        stack.wait_for_line("supervisor: restarted role converter")
        ops = f"http://127.0.0.1:{dev_env['CONVERTER_OPS_PORT']}/healthz"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ops, timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "".join(stack.lines)
            time.sleep(0.2)
        assert _role_process(stack, "converter").pid != killed.pid
        assert "restarting it in 0.5 s" in "".join(stack.lines)
    finally:
        children = stack.interrupt()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []  # the roles stopped with Ctrl-C exited and none was started again
    stopped_at = next(i for i, line in enumerate(stack.lines) if "stopping mp3converter" in line)
    assert not [line for line in stack.lines[stopped_at:] if "supervisor:" in line]
