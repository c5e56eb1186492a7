"""The fan-out of job events to live watchers, and the ids of SSE events (pure logic)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from mp3converter.api.event_stream import event_id, resume_point
from mp3converter.contracts import AnyJobEvent, JobFailed, JobProgressed, JobQueued
from mp3converter.usecases.live import WATCHER_BUFFER, LiveJobs


def _progress(job_id: str, value: float, owner_id: str = "ann") -> JobProgressed:
    return JobProgressed(job_id=job_id, owner_id=owner_id, progress=value)


def _failed(job_id: str) -> JobFailed:
    return JobFailed(
        job_id=job_id, owner_id="ann", filename="a.mp4", owner_email="a@x.io", code="c", reason="r"
    )


def test_watchers_get_the_events_of_their_job_or_owner_only() -> None:
    live = LiveJobs()
    with (
        live.watch_job("j1") as one,
        live.watch_owner("ann") as ann,
        live.watch_owner("bob") as bob,
    ):
        live.dispatch(_progress("j1", 0.5))
        live.dispatch(_progress("j2", 0.5))
        live.dispatch(JobQueued(job_id="j3", owner_id="bob", filename="b.mp4"))
        assert [e.job_id for e in _drain(one)] == ["j1"]
        assert [e.job_id for e in _drain(ann)] == ["j1", "j2"]
        assert [e.job_id for e in _drain(bob)] == ["j3"]
    live.dispatch(_progress("j1", 0.6))  # a watcher that left is given nothing more
    assert _drain(one) == []
    assert _drain(ann) == []


def test_a_watcher_that_falls_behind_loses_progress_never_an_end() -> None:
    live = LiveJobs()
    with live.watch_owner("ann") as queue:
        for n in range(WATCHER_BUFFER):
            live.dispatch(_progress(f"j{n}", 0.1))
        live.dispatch(_progress("late", 0.2))  # dropped: the queue is full of progress
        live.dispatch(_failed("j7"))
        got = _drain(queue)
    assert len(got) == WATCHER_BUFFER
    assert isinstance(got[-1], JobFailed)
    assert "late" not in [e.job_id for e in got]
    assert got[0].job_id == "j1"  # the oldest report made room


def test_a_queue_full_of_ends_drops_the_oldest_for_the_newest() -> None:
    live = LiveJobs()
    with live.watch_owner("ann") as queue:
        for n in range(WATCHER_BUFFER + 1):
            live.dispatch(_failed(f"j{n}"))
        got = _drain(queue)
    assert [e.job_id for e in got] == [f"j{n}" for n in range(1, WATCHER_BUFFER + 1)]


def test_event_ids_are_microseconds_and_resumption_ignores_junk() -> None:
    moment = datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=UTC)
    assert event_id(moment) == int(moment.timestamp()) * 1_000_000 + 456789
    assert resume_point(str(event_id(moment))) == event_id(moment)
    for junk in (None, "", "abc", "-5", "1e9", "9" * 21):
        assert resume_point(junk) == 0


def _drain(queue: asyncio.Queue[AnyJobEvent]) -> list[AnyJobEvent]:
    return [queue.get_nowait() for _ in range(queue.qsize())]
