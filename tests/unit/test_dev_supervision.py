"""The dev stack's restart backoff: doubling to a ceiling, reset after a stable run."""

from __future__ import annotations

import io
import subprocess
import sys

from mp3converter.devstack.processes import Backoff, RoleProcesses


def test_delays_double_from_half_a_second_up_to_thirty() -> None:
    backoff = Backoff()
    delays = [backoff.after_exit(uptime=1.0) for _ in range(9)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_role_that_stayed_up_long_enough_starts_again_from_the_first_delay() -> None:
    backoff = Backoff(first=0.5, longest=30.0, stable=60.0)
    assert [backoff.after_exit(1.0) for _ in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff.after_exit(59.0) == 8.0  # not quite stable
    assert backoff.after_exit(60.0) == 0.5
    assert backoff.after_exit(2.0) == 1.0


def test_an_exited_role_is_scheduled_logged_and_started_when_its_delay_is_over() -> None:
    sink = io.StringIO()
    roles = RoleProcesses({}, {"converter": 1}, {"converter": 2}, sink=sink)
    roles.processes["converter"] = subprocess.Popen([sys.executable, "-c", "exit(3)"])
    roles.processes["converter"].wait()
    roles.started_at["converter"] = 100.0
    started: list[list[str] | None] = []
    roles.start = started.append  # type: ignore[method-assign]  # no real role here

    roles.supervise(now=110.0)
    roles.supervise(now=110.2)  # still waiting: not scheduled twice, not started
    assert started == []
    assert sink.getvalue().splitlines() == [
        "supervisor: role converter exited unexpectedly with code 3 after 10.0 s; "
        "restarting it in 0.5 s"
    ]
    assert roles.restart_at == {"converter": 110.5}
    roles.supervise(now=110.5)
    assert started == [["converter"]]
    assert "supervisor: restarted role converter" in sink.getvalue()
