"""Scratch directories: removed after a conversion, and after a converter that was killed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mp3converter.adapters.scratch import remove_stale, scratch_dir


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_a_scratch_dir_is_named_after_its_process_and_removed_after(tmp_path: Path) -> None:
    async with scratch_dir(tmp_path) as path:
        (path / "source").write_bytes(b"x")
        assert path.name.startswith(f"mp3c-{os.getpid()}-")
    assert list(tmp_path.iterdir()) == []


def test_only_dirs_of_dead_processes_and_of_this_pid_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f"mp3c-{_dead_pid()}-abc"
    reused = tmp_path / f"mp3c-{os.getpid()}-def"  # a restarted container's PID 1
    live = tmp_path / f"mp3c-{os.getppid()}-ghi"  # another converter sharing the directory
    unrelated = [tmp_path / "mp3c-notapid", tmp_path / "other"]
    for path in [dead, reused, live, *unrelated]:
        path.mkdir()
        (path / "audio.mp3").write_bytes(b"partial")

    removed = remove_stale(tmp_path)

    assert removed == sorted([dead.name, reused.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, *(p.name for p in unrelated)]
    )
