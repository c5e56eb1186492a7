"""Live job events through the gateway: SSE streams fed by events on the real broker.

The jobs are recorded directly and their events published as the converter would publish them,
so each test decides what happens when; the whole chain with a real conversion is in
tests/e2e/test_live_progress.py.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import fastapi.routing
import fastapi.sse
import httpx
import pytest
from httpx_sse import EventSource, ServerSentEvent, aconnect_sse

from mp3converter import bootstrap
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.rabbitmq import Broker
from mp3converter.api import event_stream
from mp3converter.contracts import JobFailed, JobProgressed, JobQueued, JobSucceeded, utcnow
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.roles import gateway, upload
from mp3converter.usecases.live import MAX_STREAMS_PER_USER
from tests.http_server import serve
from tests.integration.conftest import Stack

WAIT_SECONDS = 15.0


async def _user(stack: Stack, email: str) -> tuple[str, dict[str, str]]:
    admin = await stack.bearer()
    created = await stack.client.post(
        "/users", headers=admin, json={"email": email, "password": "a-user-password-1"}
    )
    assert created.status_code == 201, created.text
    return created.json()["user_id"], await stack.bearer(email, "a-user-password-1")


async def _job(stack: Stack, owner_id: str, status: JobStatus = JobStatus.CONVERTING) -> Job:
    now = utcnow()
    job = Job(
        job_id=uuid.uuid4().hex,
        owner_id=owner_id,
        owner_email="owner@example.com",
        filename="talk.mp4",
        status=status,
        created_at=now,
        updated_at=now,
        video_file_id=None,
    )
    await JobStore(stack.db).add(job)
    return job


async def _succeed(stack: Stack, broker: Broker, job: Job) -> None:
    moved = await JobStore(stack.db).move(
        job.job_id,
        JobStatus.DONE,
        progress=1.0,
        duration_seconds=3.0,
        mp3_size_bytes=1000,
        mp3_file_id="0" * 24,
    )
    assert moved is not None
    await broker.publish(
        JobSucceeded(
            job_id=job.job_id,
            owner_id=job.owner_id,
            filename=job.filename,
            owner_email=job.owner_email,
            duration_seconds=3.0,
            size_bytes=1000,
        )
    )


@pytest.fixture
async def streaming(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway over real HTTP: an in-process ASGI client would wait for a stream's end."""
    async with (
        serve(gateway.create_app(stack.settings)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        yield client


@asynccontextmanager
async def _stream(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> AsyncIterator[tuple[httpx.Response, AsyncIterator[ServerSentEvent]]]:
    async with aconnect_sse(client, "GET", path, headers=headers) as source:
        yield source.response, _events(source)


async def _events(source: EventSource) -> AsyncIterator[ServerSentEvent]:
    async for sse in source.aiter_sse():
        yield sse


async def _next(events: AsyncIterator[ServerSentEvent]) -> ServerSentEvent:
    async with asyncio.timeout(WAIT_SECONDS):
        return await anext(events)


async def _rest(events: AsyncIterator[ServerSentEvent]) -> list[str]:
    """The names of the events left, once the server closes the stream."""
    async with asyncio.timeout(WAIT_SECONDS):
        return [sse.event async for sse in events]


async def test_a_job_streams_its_state_its_progress_and_its_end(
    stack: Stack, streaming: httpx.AsyncClient
) -> None:
    owner_id, headers = await _user(stack, "ann@example.com")
    job = await _job(stack, owner_id)
    async with (
        bootstrap.broker(stack.settings, "test") as broker,
        _stream(streaming, f"/jobs/{job.job_id}/events", headers) as (response, events),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        first = await _next(events)
        assert first.event == "state"
        assert json.loads(first.data)["status"] == "converting"

        await broker.publish(JobProgressed(job_id=job.job_id, owner_id=owner_id, progress=0.25))
        progress = await _next(events)
        assert progress.event == "progress"
        assert json.loads(progress.data) == {"job_id": job.job_id, "progress": 0.25}
        assert int(progress.id) > int(first.id)

        await _succeed(stack, broker, job)
        last = await _next(events)
        assert await _rest(events) == []  # the stream closes after the end of the job
    assert last.event == "done"
    done = json.loads(last.data)
    assert done["status"] == "done"
    assert done["download_link"]
    assert done["size_bytes"] == 1000


async def test_progress_is_paced_and_the_newest_report_wins(
    stack: Stack, streaming: httpx.AsyncClient
) -> None:
    owner_id, headers = await _user(stack, "bea@example.com")
    job = await _job(stack, owner_id)
    published = [round(0.05 * n, 2) for n in range(1, 11)]
    async with (
        bootstrap.broker(stack.settings, "test") as broker,
        _stream(streaming, f"/jobs/{job.job_id}/events", headers) as (_, events),
    ):
        assert (await _next(events)).event == "state"
        for value in published:  # a burst, far faster than 2 reports a second
            await broker.publish(
                JobProgressed(job_id=job.job_id, owner_id=owner_id, progress=value)
            )
        seen: list[float] = []
        while not seen or seen[-1] != published[-1]:
            seen.append(json.loads((await _next(events)).data)["progress"])
    assert seen[0] == published[0]
    assert len(seen) < len(published)  # held-back reports were replaced by newer ones
    assert seen == sorted(seen)


async def test_a_finished_job_sends_its_end_and_closes(
    stack: Stack, streaming: httpx.AsyncClient
) -> None:
    owner_id, headers = await _user(stack, "cy@example.com")
    job = await _job(stack, owner_id, JobStatus.QUEUED)
    failed = await JobStore(stack.db).move(job.job_id, JobStatus.FAILED, error=None)
    assert failed is not None
    async with _stream(streaming, f"/jobs/{job.job_id}/events", headers) as (_, events):
        received = await _next(events)
        assert await _rest(events) == []
    assert received.event == "failed"
    assert json.loads(received.data)["job_id"] == job.job_id


async def test_another_users_job_is_not_found(stack: Stack) -> None:
    owner_id, _ = await _user(stack, "dee@example.com")
    _, stranger = await _user(stack, "eve@example.com")
    job = await _job(stack, owner_id)
    response = await stack.client.get(f"/jobs/{job.job_id}/events", headers=stranger)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    unknown = await stack.client.get(f"/jobs/{uuid.uuid4().hex}/events", headers=stranger)
    assert unknown.status_code == 404
    anonymous = await stack.client.get(f"/jobs/{job.job_id}/events")
    assert anonymous.status_code == 401


async def test_a_client_that_reconnects_is_not_sent_what_it_has(
    stack: Stack, streaming: httpx.AsyncClient
) -> None:
    owner_id, headers = await _user(stack, "fay@example.com")
    job = await _job(stack, owner_id)
    async with (
        bootstrap.broker(stack.settings, "test") as broker,
        _stream(streaming, f"/jobs/{job.job_id}/events", headers) as (_, events),
    ):
        await _next(events)
        await broker.publish(JobProgressed(job_id=job.job_id, owner_id=owner_id, progress=0.5))
        last = await _next(events)
    await JobStore(stack.db).set_progress(job.job_id, 0.5)  # as the converter records it
    resumed = {**headers, "Last-Event-ID": last.id}
    async with (
        bootstrap.broker(stack.settings, "test") as broker,
        _stream(streaming, f"/jobs/{job.job_id}/events", resumed) as (_, events),
    ):
        # The recorded state is newer than the last event seen, so it comes first; then news.
        after = await _next(events)
        assert after.event == "state"
        assert json.loads(after.data)["progress"] == 0.5
        await broker.publish(JobProgressed(job_id=job.job_id, owner_id=owner_id, progress=0.75))
        assert json.loads((await _next(events)).data)["progress"] == 0.75
        await _succeed(stack, broker, job)
        assert await _rest(events) == ["done"]

    caught_up = {**headers, "Last-Event-ID": after.id}
    async with _stream(streaming, f"/jobs/{job.job_id}/events", caught_up) as (_, events):
        assert await _rest(events) == ["done"]  # final: sent again, then closed


async def test_the_owner_stream_follows_every_job_of_the_caller_only(
    stack: Stack, streaming: httpx.AsyncClient
) -> None:
    owner_id, headers = await _user(stack, "gus@example.com")
    other_id, _ = await _user(stack, "hal@example.com")
    running = await _job(stack, owner_id)
    async with (
        bootstrap.broker(stack.settings, "test") as broker,
        _stream(streaming, "/events", headers) as (_, events),
    ):
        opening = await _next(events)
        assert (opening.event, json.loads(opening.data)["job_id"]) == ("state", running.job_id)
        theirs = await _job(stack, other_id)
        await broker.publish(JobProgressed(job_id=theirs.job_id, owner_id=other_id, progress=0.5))
        new = await _job(stack, owner_id, JobStatus.QUEUED)
        await broker.publish(JobQueued(job_id=new.job_id, owner_id=owner_id, filename="b.mp4"))
        queued = await _next(events)
        assert (queued.event, json.loads(queued.data)["job_id"]) == ("state", new.job_id)
        await JobStore(stack.db).move(running.job_id, JobStatus.FAILED, error=None)
        await broker.publish(
            JobFailed(
                job_id=running.job_id,
                owner_id=owner_id,
                filename=running.filename,
                owner_email=running.owner_email,
                code="corrupt-input",
                reason="not a video",
            )
        )
        ended = await _next(events)
    assert ended.event == "failed"
    assert json.loads(ended.data)["job_id"] == running.job_id


async def test_the_gateway_documents_the_streams(stack: Stack) -> None:
    schema: dict[str, Any] = (await stack.client.get("/openapi.json")).json()
    for path in ("/jobs/{job_id}/events", "/events"):
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert "text/event-stream" in content


async def test_a_job_stream_learns_of_an_end_it_never_heard_and_of_a_deletion(
    stack: Stack, streaming: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_stream, "RECHECK_SECONDS", 0.3)
    owner_id, headers = await _user(stack, "ida@example.com")
    ended, deleted = await _job(stack, owner_id), await _job(stack, owner_id)
    async with _stream(streaming, f"/jobs/{ended.job_id}/events", headers) as (_, events):
        assert (await _next(events)).event == "state"
        moved = await JobStore(stack.db).move(ended.job_id, JobStatus.FAILED, error=None)
        assert moved is not None  # and no JobFailed is ever published
        assert await _rest(events) == ["failed"]
    async with _stream(streaming, f"/jobs/{deleted.job_id}/events", headers) as (_, events):
        assert (await _next(events)).event == "state"
        await JobStore(stack.db).delete(deleted.job_id)
        assert await _rest(events) == []  # closed: nothing more will come


async def test_one_user_may_hold_only_so_many_streams(
    stack: Stack, streaming: httpx.AsyncClient
) -> None:
    owner_id, headers = await _user(stack, "jo@example.com")
    await _job(stack, owner_id)
    async with AsyncExitStack() as held:
        opened = []  # kept referenced: a dropped event iterator closes its stream
        for _ in range(MAX_STREAMS_PER_USER):
            _, events = await held.enter_async_context(_stream(streaming, "/events", headers))
            assert (await _next(events)).event == "state"
            opened.append(events)
        async with asyncio.timeout(WAIT_SECONDS):
            refused = await streaming.get("/events", headers=headers)
        assert refused.status_code == 429
        assert refused.json()["type"].endswith("too-many-streams")
        assert refused.headers["retry-after"]
    async with asyncio.timeout(WAIT_SECONDS):  # slots are given back once the server sees
        while True:  # the streams end, a moment after the clients left
            async with _stream(streaming, "/events", headers) as (response, events):
                if response.status_code == 200:
                    assert (await _next(events)).event == "state"
                    break
            await asyncio.sleep(0.05)


async def test_every_upload_replica_streams_an_event_published_once(
    stack: Stack, streaming: httpx.AsyncClient
) -> None:
    owner_id, headers = await _user(stack, "kim@example.com")
    job = await _job(stack, owner_id)
    second_replica = upload.create_app(stack.settings.model_copy(update={"http_port": 0}))
    async with (
        serve(second_replica) as second_base,
        httpx.AsyncClient(base_url=second_base, timeout=30) as second,
        bootstrap.broker(stack.settings, "test") as broker,
        _stream(streaming, f"/jobs/{job.job_id}/events", headers) as (_, through_gateway),
        _stream(second, f"/jobs/{job.job_id}/events", headers) as (_, on_second),
    ):
        assert (await _next(through_gateway)).event == "state"
        assert (await _next(on_second)).event == "state"

        await broker.publish(JobProgressed(job_id=job.job_id, owner_id=owner_id, progress=0.5))
        progress = [await _next(through_gateway), await _next(on_second)]
        await _succeed(stack, broker, job)
        ends = [await _next(through_gateway), await _next(on_second)]

    assert [json.loads(p.data)["progress"] for p in progress] == [0.5, 0.5]
    assert [e.event for e in ends] == ["done", "done"]


def test_streams_are_kept_alive_every_15_seconds() -> None:
    # FastAPI's EventSourceResponse sends the keep-alive comments the README promises.
    assert fastapi.sse._PING_INTERVAL == 15.0
    assert fastapi.routing.__dict__["_PING_INTERVAL"] == 15.0  # the copy it uses


async def test_an_idle_stream_gets_keep_alive_comments(
    stack: Stack, streaming: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.2)
    owner_id, headers = await _user(stack, "lee@example.com")
    job = await _job(stack, owner_id)
    lines: list[str] = []
    async with streaming.stream("GET", f"/jobs/{job.job_id}/events", headers=headers) as response:
        async with asyncio.timeout(WAIT_SECONDS):
            async for line in response.aiter_lines():
                lines.append(line)
                if line.startswith(":"):
                    break

    assert response.status_code == 200
    assert lines[0] == "event: state"
    assert lines[-1] == ": ping"
