"""The converter worker on real RabbitMQ, the MongoDB wire server, GridFS and ffmpeg."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import aio_pika
import psutil
import pytest
from aio_pika.abc import AbstractIncomingMessage
from bson import ObjectId
from pymongo.errors import AutoReconnect

from mp3converter.adapters import gridfs_writer, rabbitmq
from mp3converter.adapters.gridfs_store import FileMissing, GridFSStore
from mp3converter.adapters.gridfs_writer import GridFSWriter
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Broker, MessageHandler, Topology, delivery_count
from mp3converter.contracts import (
    JOB_EVENT,
    ConvertVideo,
    JobFailed,
    JobProgressed,
    JobSucceeded,
    utcnow,
)
from mp3converter.domain.jobs import FailureCode, Job, JobStatus
from mp3converter.domain.limits import MediaLimits
from mp3converter.domain.retention import Retention
from mp3converter.usecases.convert_job import ConvertJob
from tests.hostile_media import hls_live_playlist, secret_audio
from tests.media import (
    CONVERTER_FFMPEG,
    ffprobe_json,
    make_noise_wav,
    make_video,
    transcoder,
    truncate,
)
from tests.services import AMQP_URL, queue_depth

WAIT_SECONDS = 60.0
# Long enough for a redelivery or a stray event to show up if one were coming.
SETTLE_SECONDS = 1.0


@dataclass
class Delivery:
    """One message as a handler received it."""

    body: bytes
    message_id: str | None
    count: int
    headers: dict[str, Any]


@dataclass
class Stores:
    """The worker's MongoDB side."""

    jobs: JobStore
    videos: GridFSStore
    mp3s: GridFSStore

    @classmethod
    def on(cls, db: Database, videos: GridFSStore | None = None) -> Stores:
        """The real stores of db, optionally with another videos bucket adapter."""
        return cls(JobStore(db), videos or GridFSStore(db, "videos"), GridFSStore(db, "mp3s"))


@dataclass
class Worker:
    """The converter's two handlers, as the role wires them, and every delivery they got."""

    on_command: MessageHandler[ConvertVideo]
    on_dead: MessageHandler[ConvertVideo]
    commands: list[Delivery] = field(default_factory=list)
    dead: list[Delivery] = field(default_factory=list)

    def recording(
        self, into: list[Delivery], handler: Callable[[AbstractIncomingMessage], Awaitable[None]]
    ) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        """The handler, noting each delivery first."""

        async def handle(message: AbstractIncomingMessage) -> None:
            into.append(
                Delivery(
                    message.body,
                    message.message_id,
                    delivery_count(message),
                    dict(message.headers or {}),
                )
            )
            await handler(message)

        return handle


@asynccontextmanager
async def running_worker(
    broker: Broker,
    stores: Stores,
    limits: MediaLimits | None = None,
    upload_stall_seconds: float = 120.0,
    ffprobe: str = CONVERTER_FFMPEG.ffprobe,
) -> AsyncIterator[Worker]:
    """Consume the convert queue and its dead letters as the converter role does."""
    use_case = ConvertJob(
        jobs=stores.jobs,
        videos=stores.videos,
        mp3s=stores.mp3s,
        broker=broker,
        ffmpeg=transcoder(ffprobe=ffprobe, limits=limits),
        work_dir=None,
        delete_source=True,
        upload_stall_seconds=upload_stall_seconds,
    )
    decode = ConvertVideo.model_validate_json
    worker = Worker(MessageHandler(decode, use_case.run), MessageHandler(decode, use_case.give_up))
    topology = broker.topology
    consumers = [
        await broker.consume(
            topology.convert, worker.recording(worker.commands, worker.on_command)
        ),
        await broker.consume(topology.convert_dead, worker.recording(worker.dead, worker.on_dead)),
    ]
    try:
        yield worker
    finally:
        for consumer in consumers:  # as the converter role stops: every step bounded
            with suppress(TimeoutError):
                await consumer.cancel()
        async with asyncio.timeout(WAIT_SECONDS):
            await worker.on_command.idle.wait()
            await worker.on_dead.idle.wait()
        for consumer in consumers:
            await consumer.close()


@dataclass
class EventTap:
    """Job events copied from the events exchange into a private queue."""

    events: list[tuple[str | None, Any]] = field(default_factory=list)

    def of_job(self, job_id: str, *, progress: bool = False) -> list[tuple[str | None, Any]]:
        """(message_id, event) of one job, in arrival order; progress reports only if asked."""
        return [
            (mid, event)
            for mid, event in self.events
            if event.job_id == job_id and (progress or not isinstance(event, JobProgressed))
        ]

    async def wait_for(self, job_id: str, kind: type[Any], count: int = 1) -> list[Any]:
        """The first `count` events of this kind for the job, waiting for them."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                found = [e for _, e in self.of_job(job_id) if isinstance(e, kind)]
                if len(found) >= count:
                    return found
                await asyncio.sleep(0.05)


@asynccontextmanager
async def tapped_events(topology: Topology) -> AsyncIterator[EventTap]:
    """Bind a temporary queue to `job.#` on the events exchange for the duration."""
    tap = EventTap()

    async def collect(message: AbstractIncomingMessage) -> None:
        tap.events.append((message.message_id, JOB_EVENT.validate_json(message.body)))

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(topology.events, routing_key="job.#")
        await queue.consume(collect, no_ack=True)
        yield tap


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait, bounded, until condition() holds."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


async def queue_job(stores: Stores, video: Path) -> ConvertVideo:
    """Store the video and a queued job as the upload role does; return its command."""
    job_id = uuid.uuid4().hex
    owner_id = uuid.uuid4().hex

    async def chunks() -> AsyncIterator[bytes]:
        yield await asyncio.to_thread(video.read_bytes)

    stored = await stores.videos.save(
        chunks(), filename=video.name, metadata={"owner_id": owner_id, "job_id": job_id}
    )
    now = utcnow()
    await stores.jobs.add(
        Job(
            job_id=job_id,
            owner_id=owner_id,
            owner_email="owner@example.com",
            filename=video.name,
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
            video_file_id=stored.file_id,
            video_size_bytes=stored.size,
        )
    )
    return ConvertVideo(job_id=job_id, owner_id=owner_id, video_file_id=stored.file_id)


async def stored_job(stores: Stores, job_id: str) -> Job:
    """The job, which must exist."""
    job = await stores.jobs.get(job_id)
    assert job is not None
    return job


async def done_and_source_dropped(stores: Stores, job_id: str) -> Job:
    """The job once the worker has also let go of its video: JobSucceeded goes out before the
    source is deleted and forgotten, so a snapshot taken at the event can still change."""
    deadline = asyncio.get_running_loop().time() + 10.0
    while True:
        job = await stored_job(stores, job_id)
        if job.video_file_id is None or asyncio.get_running_loop().time() > deadline:
            return job
        await asyncio.sleep(0.05)


async def download(store: GridFSStore, file_id: str, path: Path) -> Path:
    """Write a stored file to path."""
    with path.open("wb") as out:
        async for chunk in store.read(file_id):
            out.write(chunk)
    return path


async def test_good_video_becomes_a_done_job_with_its_mp3(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    command = await queue_job(stores, make_video(tmp_path / "holiday.mp4", seconds=4))

    async with tapped_events(topology) as tap, running_worker(broker, stores) as worker:
        await broker.publish(command)
        (succeeded,) = await tap.wait_for(command.job_id, JobSucceeded)
        await asyncio.sleep(SETTLE_SECONDS)
        events = tap.of_job(command.job_id)

    job = await stored_job(stores, command.job_id)
    assert (job.status, job.progress, job.error) == (JobStatus.DONE, 1.0, None)
    assert job.mp3_file_id is not None
    mp3 = await download(stores.mp3s, job.mp3_file_id, tmp_path / "out.mp3")
    probed = ffprobe_json(mp3)
    assert probed["format"]["format_name"] == "mp3"
    assert float(probed["format"]["duration"]) == pytest.approx(4.0, abs=0.5)
    assert job.mp3_size_bytes == mp3.stat().st_size
    stored = await db["mp3s.files"].find_one({"_id": ObjectId(job.mp3_file_id)})
    assert stored is not None
    assert stored["metadata"]["job_id"] == command.job_id
    assert stored["metadata"]["filename"] == "holiday.mp3"
    with pytest.raises(FileMissing):
        await stores.videos.info(command.video_file_id)
    assert events == [(f"{command.job_id}:job.succeeded", succeeded)]
    assert succeeded.owner_email == "owner@example.com"
    assert succeeded.size_bytes == job.mp3_size_bytes
    assert [d.count for d in worker.commands] == [0]
    assert worker.dead == []
    assert await queue_depth(topology.convert) == 0


def no_audio(tmp_path: Path) -> Path:
    return make_video(tmp_path / "silent.mp4", seconds=2, audio=False)


def random_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "noise.mp4"
    path.write_bytes(random.Random(11).randbytes(100_000))
    return path


def fast_start_cut_in_half(tmp_path: Path) -> Path:
    return truncate(make_video(tmp_path / "cut.mp4", seconds=6, faststart=True))


@pytest.mark.parametrize(
    ("make_input", "code"),
    [
        (no_audio, FailureCode.NO_AUDIO),
        (random_bytes, FailureCode.NOT_MEDIA),
        (fast_start_cut_in_half, FailureCode.TRUNCATED_INPUT),
    ],
    ids=["no-audio", "random-bytes", "fast-start-cut-in-half"],
)
async def test_unconvertible_input_fails_the_job_once_without_retries(
    broker: Broker,
    db: Database,
    topology: Topology,
    tmp_path: Path,
    make_input: Callable[[Path], Path],
    code: FailureCode,
) -> None:
    stores = Stores.on(db)
    command = await queue_job(stores, make_input(tmp_path))

    async with tapped_events(topology) as tap, running_worker(broker, stores) as worker:
        await broker.publish(command)
        (failed,) = await tap.wait_for(command.job_id, JobFailed)
        await asyncio.sleep(SETTLE_SECONDS)
        events = tap.of_job(command.job_id)

    job = await stored_job(stores, command.job_id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.code == code
    assert job.error.reason
    assert (failed.code, failed.reason) == (job.error.code, job.error.reason)
    assert events == [(f"{command.job_id}:job.failed", failed)]
    assert [d.count for d in worker.commands] == [0]
    assert worker.dead == []
    assert await queue_depth(topology.convert) == 0
    assert await queue_depth(topology.convert_dead) == 0
    assert await db["mp3s.files"].count_documents({}) == 0


async def test_redelivered_command_of_a_done_job_changes_nothing(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    command = await queue_job(stores, make_video(tmp_path / "clip.mp4", seconds=2))

    async with tapped_events(topology) as tap, running_worker(broker, stores) as worker:
        await broker.publish(command)
        await tap.wait_for(command.job_id, JobSucceeded)
        before = await done_and_source_dropped(stores, command.job_id)
        assert before.video_file_id is None

        await broker.publish(command)
        first, again = await tap.wait_for(command.job_id, JobSucceeded, count=2)
        await asyncio.sleep(SETTLE_SECONDS)
        events = tap.of_job(command.job_id)

    after = await stored_job(stores, command.job_id)
    assert after == before
    assert after.status is JobStatus.DONE
    assert await db["mp3s.files"].count_documents({}) == 1
    assert [mid for mid, _ in events] == [f"{command.job_id}:job.succeeded"] * 2
    assert again.model_dump(exclude={"occurred_at"}) == first.model_dump(exclude={"occurred_at"})
    assert [d.count for d in worker.commands] == [0, 0]
    assert await queue_depth(topology.convert) == 0


class UnreachableVideos(GridFSStore):
    """The videos bucket during a network partition: every read fails with a transient error."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, "videos")
        self.reads = 0

    async def read(
        self, file_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Fail the way pymongo does when the connection drops mid-read."""
        self.reads += 1
        raise AutoReconnect("connection reset while reading the video (injected)")
        yield b""  # unreachable; makes this an async generator like the real read


async def test_transient_failure_is_retried_then_dead_lettered_and_the_job_fails(
    broker: Broker,
    db: Database,
    topology: Topology,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A shorter pause between attempts keeps the test quick; the retry path is unchanged.
    monkeypatch.setattr(rabbitmq, "RETRY_PAUSE_SECONDS", 0.1)
    videos = UnreachableVideos(db)
    stores = Stores.on(db, videos=videos)
    command = await queue_job(stores, make_video(tmp_path / "clip.mp4", seconds=2))

    async with tapped_events(topology) as tap, running_worker(broker, stores) as worker:
        await broker.publish(command)
        (failed,) = await tap.wait_for(command.job_id, JobFailed)
        await asyncio.sleep(SETTLE_SECONDS)
        events = tap.of_job(command.job_id)

    assert failed.code == FailureCode.RETRIES_EXHAUSTED
    assert events == [(f"{command.job_id}:job.failed", failed)]
    job = await stored_job(stores, command.job_id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.code == FailureCode.RETRIES_EXHAUSTED
    # The first delivery plus one redelivery per allowed retry, then the dead-letter queue.
    attempts = topology.delivery_limit + 1
    assert [d.count for d in worker.commands] == list(range(attempts))
    assert videos.reads == attempts
    assert [d.message_id for d in worker.dead] == [command.message_id]
    assert worker.dead[0].headers["x-death"][0]["reason"] == "delivery_limit"
    assert await queue_depth(topology.convert) == 0
    assert await queue_depth(topology.convert_dead) == 0


async def publish_raw(topology: Topology, body: bytes) -> None:
    """Publish bytes that are no ConvertVideo straight to the commands exchange."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.commands, ensure=False)
        message = aio_pika.Message(body, content_type="application/json", message_id="garbage")
        await exchange.publish(message, routing_key="convert", mandatory=True)


async def test_malformed_command_is_dead_lettered_and_the_worker_goes_on(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    command = await queue_job(stores, make_video(tmp_path / "clip.mp4", seconds=2))
    garbage = b"\x00\xffnot a ConvertVideo {"

    async with tapped_events(topology) as tap, running_worker(broker, stores) as worker:
        await publish_raw(topology, garbage)
        await broker.publish(command)
        await tap.wait_for(command.job_id, JobSucceeded)
        await eventually(lambda: bool(worker.dead))
        await asyncio.sleep(SETTLE_SECONDS)

    assert (await stored_job(stores, command.job_id)).status is JobStatus.DONE
    assert [d.body for d in worker.commands] == [garbage, command.model_dump_json().encode()]
    # Rejected once to convert.dead, where the dead-letter handler drops it.
    assert [d.body for d in worker.dead] == [garbage]
    assert worker.dead[0].headers["x-death"][0]["reason"] == "rejected"
    assert await queue_depth(topology.convert) == 0
    assert await queue_depth(topology.convert_dead) == 0


async def test_progress_is_recorded_on_the_job_while_converting(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    # Noise is expensive for LAME: this takes a couple of seconds, several progress periods.
    command = await queue_job(stores, make_noise_wav(tmp_path / "long.wav", seconds=300))
    seen: list[tuple[JobStatus, float]] = []
    async with running_worker(broker, stores):
        await broker.publish(command)
        async with asyncio.timeout(WAIT_SECONDS):
            while not seen or seen[-1][0] is not JobStatus.DONE:
                job = await stored_job(stores, command.job_id)
                seen.append((job.status, job.progress))
                await asyncio.sleep(0.05)
    midway = [p for status, p in seen if status is JobStatus.CONVERTING and 0 < p < 1]
    assert len(set(midway)) >= 2, seen
    progress = [p for _, p in seen]
    assert progress == sorted(progress)
    assert seen[-1] == (JobStatus.DONE, 1.0)


async def test_progress_is_published_for_live_watchers(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    command = await queue_job(stores, make_noise_wav(tmp_path / "long.wav", seconds=300))
    async with tapped_events(topology) as tap, running_worker(broker, stores):
        await broker.publish(command)
        await tap.wait_for(command.job_id, JobSucceeded)
    events = [event for _, event in tap.of_job(command.job_id, progress=True)]
    reports = [e for e in events if isinstance(e, JobProgressed)]
    assert reports[0].progress == 0.0  # watchers learn at once that it converts
    assert len({r.progress for r in reports if 0 < r.progress < 1}) >= 2
    assert [r.progress for r in reports] == sorted(r.progress for r in reports)
    assert isinstance(events[-1], JobSucceeded)  # nothing after the end
    spacing = [b.occurred_at - a.occurred_at for a, b in pairwise(reports[1:])]
    assert all(gap.total_seconds() > 0.3 for gap in spacing[:-1]), spacing  # paced, not per block


async def test_a_conversion_past_its_time_limit_fails_and_leaves_no_ffmpeg(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    command = await queue_job(stores, make_noise_wav(tmp_path / "long.wav", seconds=120))
    async with (
        tapped_events(topology) as tap,
        running_worker(broker, stores, MediaLimits(conversion_seconds=0.2)) as worker,
    ):
        await broker.publish(command)
        (failed,) = await tap.wait_for(command.job_id, JobFailed)
    job = await stored_job(stores, command.job_id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.code == FailureCode.CONVERSION_TIMEOUT
    assert failed.code == "conversion-timeout"
    assert [d.count for d in worker.commands] == [0]  # permanent: acked, not retried
    ours = psutil.Process().children(recursive=True)
    assert [p for p in ours if p.name() == "ffmpeg"] == []


async def test_a_never_ending_playlist_fails_at_once_and_the_next_job_converts(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    playlist = tmp_path / "live.m3u8"
    playlist.write_bytes(hls_live_playlist(secret_audio(tmp_path / "outside")))
    hostile = await queue_job(stores, playlist)
    good = await queue_job(stores, make_video(tmp_path / "next.mp4", seconds=2))

    async with tapped_events(topology) as tap, running_worker(broker, stores):
        started = asyncio.get_running_loop().time()
        await broker.publish(hostile)
        await broker.publish(good)
        (failed,) = await tap.wait_for(hostile.job_id, JobFailed)
        failed_after = asyncio.get_running_loop().time() - started
        await tap.wait_for(good.job_id, JobSucceeded)

    assert failed.code == FailureCode.UNSUPPORTED_FORMAT
    assert failed_after < 5, failed_after
    assert (await stored_job(stores, good.job_id)).status is JobStatus.DONE
    # Nothing of the hostile job is kept: no MP3, and its video is gone too.
    assert await db["mp3s.files"].count_documents({"metadata.job_id": hostile.job_id}) == 0
    with pytest.raises(FileMissing):
        await stores.videos.info(hostile.video_file_id)


# ffprobe as it behaves on an input it never finishes reading: it hangs (here on files that start
# with HANG); every other file goes to the converter's real ffprobe.
HANGING_FFPROBE = f"""#!/bin/sh
for last; do :; done
if head -c 4 "${{last#file:}}" | grep -q HANG; then exec sleep 600; fi
exec {CONVERTER_FFMPEG.ffprobe} "$@"
"""


async def test_a_probe_past_its_deadline_fails_the_job_and_the_next_job_converts(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    ffprobe = tmp_path / "ffprobe"
    ffprobe.write_text(HANGING_FFPROBE)
    ffprobe.chmod(0o755)
    hanging = tmp_path / "hangs.mp4"
    hanging.write_bytes(b"HANG" + make_video(tmp_path / "v.mp4", seconds=1).read_bytes())
    stores = Stores.on(db)
    hostile = await queue_job(stores, hanging)
    good = await queue_job(stores, make_video(tmp_path / "next.mp4", seconds=2))
    limits = MediaLimits(probe_seconds=3.0)

    async with (
        tapped_events(topology) as tap,
        running_worker(broker, stores, limits, ffprobe=str(ffprobe)) as worker,
    ):
        started = asyncio.get_running_loop().time()
        await broker.publish(hostile)
        await broker.publish(good)
        (failed,) = await tap.wait_for(hostile.job_id, JobFailed)
        failed_after = asyncio.get_running_loop().time() - started
        await tap.wait_for(good.job_id, JobSucceeded)

    assert failed.code == FailureCode.PROBE_TIMEOUT
    assert 3.0 <= failed_after < 10, failed_after
    assert [d.count for d in worker.commands] == [0, 0]  # permanent: acked, not retried
    assert (await stored_job(stores, good.job_id)).status is JobStatus.DONE
    with pytest.raises(FileMissing):
        await stores.videos.info(hostile.video_file_id)
    assert [p for p in psutil.Process().children(recursive=True) if p.name() == "sleep"] == []


async def test_final_jobs_carry_their_expiry_and_a_failed_job_drops_its_video(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    good = await queue_job(stores, make_video(tmp_path / "good.mp4", seconds=2))
    bad = await queue_job(stores, no_audio(tmp_path))

    async with tapped_events(topology) as tap, running_worker(broker, stores):
        before = utcnow()
        await broker.publish(good)
        await broker.publish(bad)
        await tap.wait_for(good.job_id, JobSucceeded)
        await tap.wait_for(bad.job_id, JobFailed)

    done, failed = await stored_job(stores, good.job_id), await stored_job(stores, bad.job_id)
    retention = Retention()
    assert done.expires_at is not None
    assert done.purge_at is not None
    assert abs(done.expires_at - before - timedelta(seconds=retention.mp3_seconds)) < timedelta(
        seconds=30
    )
    assert done.purge_at - done.expires_at == timedelta(
        seconds=retention.job_seconds - retention.mp3_seconds
    )
    assert (failed.expires_at, failed.video_file_id) == (None, None)
    assert failed.purge_at is not None
    assert abs(failed.purge_at - before - timedelta(seconds=retention.job_seconds)) < timedelta(
        seconds=30
    )
    for command in (good, bad):
        with pytest.raises(FileMissing):
            await stores.videos.info(command.video_file_id)


# --- converting while the upload still arrives ---------------------------------------------


@pytest.fixture
def chunk_by_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer inserts every chunk at once, so a reader sees the upload arrive in pieces."""
    monkeypatch.setattr(gridfs_writer, "BATCH_CHUNKS", 1)


async def queue_while_uploading(stores: Stores, name: str) -> tuple[ConvertVideo, GridFSWriter]:
    """A job queued as the upload role queues one whose video reads front to back."""
    writer = stores.videos.writer()
    now, job_id, owner_id = utcnow(), uuid.uuid4().hex, uuid.uuid4().hex
    await stores.jobs.add(
        Job(
            job_id=job_id,
            owner_id=owner_id,
            owner_email="owner@example.com",
            filename=name,
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
            video_file_id=str(writer.file_id),
        )
    )
    command = ConvertVideo(
        job_id=job_id, owner_id=owner_id, video_file_id=str(writer.file_id), streaming=True
    )
    return command, writer


async def trickle(writer: GridFSWriter, data: bytes, pieces: int, pause: float) -> None:
    """Write the data in pieces, pausing between them, as a slow client uploads."""
    step = -(-len(data) // pieces)
    for offset in range(0, len(data), step):
        await writer.write(data[offset : offset + step])
        await asyncio.sleep(pause)


@pytest.mark.usefixtures("chunk_by_chunk")
async def test_a_front_to_back_video_converts_while_it_still_uploads(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    video = make_video(tmp_path / "talk.mp4", seconds=30, faststart=True).read_bytes()
    command, writer = await queue_while_uploading(stores, "talk.mp4")

    async with tapped_events(topology) as tap, running_worker(broker, stores):
        await broker.publish(command)
        await trickle(writer, video[: len(video) // 2], pieces=10, pause=0.1)
        midway = await stored_job(stores, command.job_id)
        await trickle(writer, video[len(video) // 2 :], pieces=10, pause=0.1)
        await writer.close("talk.mp4", {})
        await tap.wait_for(command.job_id, JobSucceeded)

    job = await stored_job(stores, command.job_id)
    assert midway.status is JobStatus.CONVERTING  # before half the video had arrived
    assert job.status is JobStatus.DONE
    assert job.mp3_file_id is not None
    mp3 = await download(stores.mp3s, job.mp3_file_id, tmp_path / "out.mp3")
    assert float(ffprobe_json(mp3)["format"]["duration"]) == pytest.approx(30.0, abs=0.5)


@pytest.mark.usefixtures("chunk_by_chunk")
async def test_an_abandoned_upload_stops_its_conversion_and_leaves_nothing(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    video = make_video(tmp_path / "talk.mp4", seconds=20, faststart=True).read_bytes()
    command, writer = await queue_while_uploading(stores, "talk.mp4")

    async with running_worker(broker, stores) as worker:
        await broker.publish(command)
        await trickle(writer, video[: len(video) // 2], pieces=5, pause=0.1)
        await eventually(lambda: bool(worker.commands))
        # What the upload role does when the client goes away mid-upload.
        await stores.jobs.delete(command.job_id)
        await writer.abort()
        async with asyncio.timeout(WAIT_SECONDS):
            while not worker.on_command.idle.is_set():
                await asyncio.sleep(0.05)

    assert [d.count for d in worker.commands] == [0]  # acked: not retried
    assert worker.dead == []
    assert await db["mp3s.files"].count_documents({}) == 0
    assert [p for p in psutil.Process().children(recursive=True) if p.name() == "ffmpeg"] == []
    assert await queue_depth(topology.convert) == 0


@pytest.mark.usefixtures("chunk_by_chunk")
async def test_an_upload_that_stops_arriving_fails_its_job(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    video = make_video(tmp_path / "talk.mp4", seconds=20, faststart=True).read_bytes()
    command, writer = await queue_while_uploading(stores, "talk.mp4")

    async with (
        tapped_events(topology) as tap,
        running_worker(broker, stores, upload_stall_seconds=1.0),
    ):
        await broker.publish(command)
        await trickle(writer, video[: len(video) // 2], pieces=5, pause=0.05)
        # The upload role died: no more chunks, no files document, the job still there.
        (failed,) = await tap.wait_for(command.job_id, JobFailed)

    assert failed.code == FailureCode.UPLOAD_INCOMPLETE
    assert "stopped before the file was complete" in failed.reason


@pytest.mark.usefixtures("chunk_by_chunk")
async def test_a_truncated_video_streamed_whole_is_still_caught(
    broker: Broker, db: Database, topology: Topology, tmp_path: Path
) -> None:
    stores = Stores.on(db)
    video = truncate(make_video(tmp_path / "cut.mp4", seconds=20, faststart=True)).read_bytes()
    command, writer = await queue_while_uploading(stores, "cut.mp4")

    async with tapped_events(topology) as tap, running_worker(broker, stores):
        await broker.publish(command)
        await trickle(writer, video, pieces=4, pause=0.05)
        await writer.close("cut.mp4", {})
        (failed,) = await tap.wait_for(command.job_id, JobFailed)

    assert failed.code in {FailureCode.TRUNCATED_INPUT, FailureCode.NOT_MEDIA}
    assert await db["mp3s.files"].count_documents({}) == 0


@pytest.mark.usefixtures("chunk_by_chunk")
async def test_a_job_replaced_when_its_upload_ends_stops_converting(
    broker: Broker,
    db: Database,
    topology: Topology,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Options that followed the file changed: the upload role deletes the early job before it
    # closes the file, and queues the video under a new one.
    stores = Stores.on(db)
    video = make_video(tmp_path / "talk.mp4", seconds=20, faststart=True).read_bytes()
    command, writer = await queue_while_uploading(stores, "talk.mp4")

    with caplog.at_level(logging.INFO, logger="mp3converter.usecases.convert_job"):
        async with running_worker(broker, stores) as worker:
            await broker.publish(command)
            await trickle(writer, video, pieces=5, pause=0.1)
            await eventually(lambda: bool(worker.commands))
            await stores.jobs.delete(command.job_id)
            await writer.close("talk.mp4", {})
            async with asyncio.timeout(WAIT_SECONDS):
                while not worker.on_command.idle.is_set():
                    await asyncio.sleep(0.05)

    # Stopped when the file closed, not converted to the end and its MP3 thrown away.
    assert f"the upload of job {command.job_id} was abandoned" in caplog.text
    assert [d.count for d in worker.commands] == [0]
    assert await db["mp3s.files"].count_documents({}) == 0
    assert [p for p in psutil.Process().children(recursive=True) if p.name() == "ffmpeg"] == []
    await stores.videos.info(command.video_file_id)  # the video stays, for the new job
