"""Progress bars on stderr: bytes and rate for transfers, percent for conversions.

They show only on a terminal and never with `--json`, so scripts get clean output; each bar
stays on screen as a finished line when its step ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
)
from rich.text import Text


class StepColumn(ProgressColumn):
    """`1.2/8.0 MB 5.1 MB/s` for a transfer, the job's status for a conversion."""

    def render(self, task: Task) -> Text:
        """The column's text for this task."""
        if task.fields.get("unit") != "bytes":
            return Text(str(task.fields.get("status", "")))
        done = filesize.decimal(int(task.completed))
        total = filesize.decimal(int(task.total or 0))
        speed = task.finished_speed or task.speed
        rate = f" {filesize.decimal(int(speed))}/s" if speed else ""
        return Text(f"{done}/{total}{rate}")


def progress_bars(console: Console, *, enabled: bool) -> Progress:
    """A rich Progress for one file's upload, conversion and download."""
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=30),
        TaskProgressColumn(),
        StepColumn(),
        console=console,
        disable=not enabled,
    )


def advancing(chunks: Iterable[bytes], progress: Progress, task: TaskID) -> Iterator[bytes]:
    """The chunks, moving the task's bar by each one's size as it passes."""
    for chunk in chunks:
        progress.advance(task, len(chunk))
        yield chunk


def label(step: str, name: str, width: int = 28) -> str:
    """A bar's description: the step, then the name (shortened with … past `width`)."""
    shown = name if len(name) <= width else name[: width - 1] + "…"
    return f"{step:<8} {shown}"
