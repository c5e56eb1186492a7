"""Live job updates: events from the events exchange fanned out to this process's watchers.

Each upload replica has its own queue bound to every job event; a watcher (one SSE stream) sees
the events of one job, or of every job of one owner. A watcher that falls behind loses progress
reports, never the end of a job.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from mp3converter.contracts import JOB_EVENT, AnyJobEvent, JobProgressed

log = logging.getLogger(__name__)
WATCHER_BUFFER = 64
# Streams one user may hold open at once on one replica: a stream lasts as long as its client
# wants, so without a cap one token could hold every connection.
MAX_STREAMS_PER_USER = 10


class LiveJobs:
    """Who watches which job or owner, and the hand-off of each event to them."""

    def __init__(self) -> None:
        self._by_job: defaultdict[str, set[asyncio.Queue[AnyJobEvent]]] = defaultdict(set)
        self._by_owner: defaultdict[str, set[asyncio.Queue[AnyJobEvent]]] = defaultdict(set)
        self._streams: Counter[str] = Counter()

    def claim_stream(self, user_id: str) -> bool:
        """Take one of the user's stream slots; False if they hold them all."""
        if self._streams[user_id] >= MAX_STREAMS_PER_USER:
            return False
        self._streams[user_id] += 1
        return True

    def release_stream(self, user_id: str) -> None:
        """Give back a slot taken with claim_stream."""
        self._streams[user_id] -= 1
        if self._streams[user_id] <= 0:
            del self._streams[user_id]

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """The broker's handler: decode and dispatch (a malformed event is dropped)."""
        try:
            event = JOB_EVENT.validate_json(message.body)
        except ValidationError:
            log.warning("dropping a malformed job event %s", message.message_id)
            return
        self.dispatch(event)

    def dispatch(self, event: AnyJobEvent) -> None:
        """Give the event to every watcher of its job and of its owner."""
        for queue in (*self._by_job.get(event.job_id, ()), *self._by_owner.get(event.owner_id, ())):
            _offer(queue, event)

    @contextmanager
    def watch_job(self, job_id: str) -> Iterator[asyncio.Queue[AnyJobEvent]]:
        """The events of one job, for the duration of the block."""
        with _watching(self._by_job, job_id) as queue:
            yield queue

    @contextmanager
    def watch_owner(self, owner_id: str) -> Iterator[asyncio.Queue[AnyJobEvent]]:
        """The events of every job of one owner, for the duration of the block."""
        with _watching(self._by_owner, owner_id) as queue:
            yield queue


@contextmanager
def _watching(
    watchers: defaultdict[str, set[asyncio.Queue[AnyJobEvent]]], key: str
) -> Iterator[asyncio.Queue[AnyJobEvent]]:
    queue: asyncio.Queue[AnyJobEvent] = asyncio.Queue(WATCHER_BUFFER)
    watchers[key].add(queue)
    try:
        yield queue
    finally:
        watchers[key].discard(queue)
        if not watchers[key]:
            del watchers[key]


def _offer(queue: asyncio.Queue[AnyJobEvent], event: AnyJobEvent) -> None:
    if not queue.full():
        queue.put_nowait(event)
        return
    if isinstance(event, JobProgressed):
        return  # the watcher is behind: a later report supersedes this one
    # Room for the end of a job: drop the oldest progress report, or else the oldest event.
    waiting = [queue.get_nowait() for _ in range(queue.qsize())]
    victim = next((i for i, e in enumerate(waiting) if isinstance(e, JobProgressed)), 0)
    del waiting[victim]
    for kept in [*waiting, event]:
        queue.put_nowait(kept)
