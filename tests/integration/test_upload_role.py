"""The upload role in-process on the real services: quotas, job deletion, expiry, ranges."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.rabbitmq import Topology
from mp3converter.config import Settings
from mp3converter.contracts import ConvertVideo, utcnow
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.roles import upload
from tests.inprocess import Tokens, serving, settings_for, token_authority
from tests.media import make_video
from tests.services import AMQP_URL

PROBLEM = "application/problem+json"


@dataclass
class UploadRole:
    """A served upload role, its database, and tokens it accepts."""

    client: httpx.AsyncClient
    db: Database
    tokens: Tokens
    settings: Settings

    async def post(
        self, headers: dict[str, str], data: bytes, name: str = "v.mp4"
    ) -> httpx.Response:
        """POST /upload with one file field."""
        files = {"file": (name, io.BytesIO(data), "video/mp4")}
        return await self.client.post("/upload", headers=headers, files=files)

    async def done_job(self, owner_id: str, mp3: bytes | None) -> Job:
        """A done job as the converter leaves it (with its MP3 stored, or expired if None)."""

        async def body() -> AsyncIterator[bytes]:
            yield mp3 or b""

        stored = None
        if mp3 is not None:
            stored = await GridFSStore(self.db, "mp3s").save(body(), filename="a.mp3", metadata={})
        now = utcnow()
        job = Job(
            job_id=uuid.uuid4().hex,
            owner_id=owner_id,
            owner_email=f"{owner_id}@example.com",
            filename="talk.mp4",
            status=JobStatus.DONE,
            created_at=now,
            updated_at=now,
            mp3_file_id=stored.file_id if stored else None,
            mp3_size_bytes=len(mp3 or b""),
            expires_at=now + timedelta(days=1 if mp3 else -1),
            purge_at=now + timedelta(days=2),  # the role's own sweeper must leave it alone
        )
        await JobStore(self.db).add(job)
        return job


RoleFactory = Callable[..., AbstractAsyncContextManager[UploadRole]]


@pytest.fixture
def upload_role(mongodb_url: str, mongo_client: Any) -> RoleFactory:
    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[UploadRole]:
        async with token_authority() as tokens:
            settings = settings_for(mongodb_url, tokens.auth_url, **overrides)
            db: Database = mongo_client[settings.mongodb_db]
            try:
                async with serving(upload.create_app(settings), settings) as client:
                    yield UploadRole(client, db, tokens, settings)
            finally:
                await mongo_client.drop_database(settings.mongodb_db)

    return start


async def count(db: Database, collection: str) -> int:
    return await db[collection].count_documents({})


async def test_uploads_past_the_jobs_in_flight_quota_are_429(upload_role: RoleFactory) -> None:
    async with upload_role(max_jobs_in_flight_per_user=1) as role:
        ann = role.tokens.bearer("ann")
        first = await role.post(ann, b"video-one")
        second = await role.post(ann, b"video-two")
        other = await role.post(role.tokens.bearer("bob"), b"video-three")

        assert first.status_code == 202
        assert second.status_code == 429
        assert second.headers["content-type"] == PROBLEM
        assert second.headers["retry-after"] == "30"
        body = second.json()
        assert body["type"].endswith("/too-many-jobs")
        assert body["limit"] == 1
        assert "1 conversions queued or running; the limit is 1" in body["detail"]
        assert other.status_code == 202  # quotas are per user
        assert await count(role.db, "jobs") == 2
        assert await count(role.db, "videos.files") == 2


async def test_uploads_past_the_storage_quota_are_507_and_store_nothing(
    upload_role: RoleFactory,
) -> None:
    async with upload_role(max_stored_bytes_per_user=300_000) as role:
        ann = role.tokens.bearer("ann")
        too_big = await role.post(ann, os.urandom(400_000))
        fits = await role.post(ann, os.urandom(200_000))
        over_now = await role.post(ann, os.urandom(150_000))

        assert too_big.status_code == 507
        assert too_big.headers["content-type"] == PROBLEM
        assert too_big.json()["type"].endswith("/storage-quota-exceeded")
        assert too_big.json()["quota_bytes"] == 300_000
        assert fits.status_code == 202
        assert over_now.status_code == 507
        assert await count(role.db, "jobs") == 1
        assert await count(role.db, "videos.files") == 1
        assert await role.db["videos.chunks"].count_documents({}) == 1  # 200 KB: one chunk


async def test_a_chunked_upload_is_stopped_at_the_storage_quota(upload_role: RoleFactory) -> None:
    boundary = "quota-boundary"

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for _ in range(10):
            yield os.urandom(256 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    async with upload_role(max_stored_bytes_per_user=1024 * 1024) as role:
        response = await role.client.post(
            "/upload",
            headers={
                **role.tokens.bearer("ann"),
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            content=body(),
        )

        assert response.status_code == 507
        assert await count(role.db, "videos.files") == 0
        assert await count(role.db, "videos.chunks") == 0
        assert await count(role.db, "jobs") == 0


async def test_a_finished_job_can_be_deleted_with_its_files(upload_role: RoleFactory) -> None:
    async with upload_role() as role:
        ann = role.tokens.bearer("ann")
        done = await role.done_job("ann", b"ID3" + os.urandom(1000))
        queued = (await role.post(ann, b"still-queued")).json()["job_id"]

        others = await role.client.delete(f"/jobs/{done.job_id}", headers=role.tokens.bearer())
        in_flight = await role.client.delete(f"/jobs/{queued}", headers=ann)
        deleted = await role.client.delete(f"/jobs/{done.job_id}", headers=ann)
        again = await role.client.get(f"/jobs/{done.job_id}", headers=ann)

        assert others.status_code == 404
        assert in_flight.status_code == 409
        assert in_flight.json()["type"].endswith("/job-in-flight")
        assert deleted.status_code == 204
        assert again.status_code == 404
        assert await count(role.db, "mp3s.files") == 0
        assert await count(role.db, "mp3s.chunks") == 0


async def test_an_expired_mp3_is_410_and_the_job_says_when_it_expired(
    upload_role: RoleFactory,
) -> None:
    async with upload_role() as role:
        ann = role.tokens.bearer("ann")
        expired = await role.done_job("ann", None)

        view = (await role.client.get(f"/jobs/{expired.job_id}", headers=ann)).json()
        download = await role.client.get(f"/download/{expired.job_id}", headers=ann)

        assert view["status"] == "done"
        assert view["download_url"] is None
        assert view["expires_at"] is not None
        assert view["retained_until"] is not None
        assert download.status_code == 410
        assert download.json()["type"].endswith("/mp3-expired")


@pytest.mark.parametrize(
    ("range_header", "status"),
    [
        ("bytes=" + "9" * 5000 + "-", 200),  # far too long to be one range: ignored
        ("bytes=0-" + "9" * 5000, 200),
        ("bytes=" + "9" * 100 + "-", 416),
        ("bytes=-" + "9" * 100, 206),  # a suffix longer than the file is the whole file
        ("bytes=\u0663-", 200),
    ],
    ids=["huge-start-long", "huge-end-long", "huge-start", "huge-suffix", "arabic-digit"],
)
async def test_absurd_ranges_are_answered_not_crashed_on(
    upload_role: RoleFactory, range_header: str, status: int
) -> None:
    async with upload_role() as role:
        mp3 = b"ID3" + os.urandom(5000)
        job = await role.done_job("ann", mp3)
        headers = {k.encode(): v.encode() for k, v in role.tokens.bearer("ann").items()}
        headers[b"range"] = range_header.encode()  # UTF-8 on the wire, whatever it holds

        response = await role.client.get(f"/download/{job.job_id}", headers=headers)

        assert response.status_code == status
        if status == 416:
            assert response.headers["content-range"] == f"bytes */{len(mp3)}"
        else:
            assert response.content == mp3


async def test_a_huge_declared_length_is_413_before_reading(upload_role: RoleFactory) -> None:
    async with upload_role() as role:
        headers = {
            **role.tokens.bearer("ann"),
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": "9" * 5000,
        }
        response = await role.client.post("/upload", headers=headers, content=b"--x--\r\n")

        assert response.status_code == 413


async def commands(role: UploadRole) -> list[ConvertVideo]:
    """The ConvertVideo commands waiting in the convert queue (no converter runs here)."""
    queue = Topology(role.settings.broker_prefix).convert
    found = []
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        source = await channel.get_queue(queue, ensure=True)
        while (message := await source.get(fail=False, no_ack=False)) is not None:
            found.append(ConvertVideo.model_validate_json(message.body))
        await channel.close()  # unacked: back to the queue
    return found


@pytest.mark.parametrize(("faststart", "early"), [(True, True), (False, False)])
async def test_a_front_to_back_video_is_queued_before_its_upload_ends(
    upload_role: RoleFactory, tmp_path: Path, faststart: bool, early: bool
) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=30, faststart=faststart).read_bytes()
    boundary, resume = "streaming-boundary", asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        yield video[: 3 * 1024 * 1024]  # enough for the writer to insert a batch
        await resume.wait()
        yield video[3 * 1024 * 1024 :]
        yield f"\r\n--{boundary}--\r\n".encode()

    async with upload_role() as role:
        headers = {
            **role.tokens.bearer("ann"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        posting = asyncio.create_task(role.client.post("/upload", headers=headers, content=body()))
        await asyncio.sleep(1.0)
        during = await commands(role)
        resume.set()
        response = await posting
        after = await commands(role)
        job = await JobStore(role.db).get(response.json()["job_id"])

    assert response.status_code == 202
    assert [c.streaming for c in during] == ([True] if early else [])
    assert [c.streaming for c in after] == [early]
    assert job is not None
    assert job.video_size_bytes == len(video)


async def test_an_upload_cut_off_after_its_job_was_queued_leaves_nothing(
    upload_role: RoleFactory, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=30, faststart=True).read_bytes()
    boundary = "cut-off-boundary"

    async def body() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse it early
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for offset in range(0, len(video), 32 * 1024):
            yield video[offset : offset + 32 * 1024]
        yield f"\r\n--{boundary}--\r\n".encode()

    async with upload_role(max_upload_bytes=len(video) // 2) as role:
        headers = {
            **role.tokens.bearer("ann"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        response = await role.client.post("/upload", headers=headers, content=body())
        queued = await commands(role)

        assert response.status_code == 413
        assert [c.streaming for c in queued] == [True]  # queued early, then undone
        assert await count(role.db, "jobs") == 0
        assert await count(role.db, "videos.chunks") == 0
        assert await count(role.db, "videos.files") == 0


async def test_the_role_sweeps_again_every_sweep_interval(upload_role: RoleFactory) -> None:
    async with upload_role(sweep_interval_seconds=0.3) as role:
        jobs = JobStore(role.db)
        for _ in range(2):  # each added after the role's first sweep at start-up
            past = utcnow() - timedelta(seconds=1)
            job = Job(
                job_id=uuid.uuid4().hex,
                owner_id="ann",
                owner_email="ann@example.com",
                filename="talk.mp4",
                status=JobStatus.FAILED,
                created_at=past,
                updated_at=past,
                purge_at=past,
            )
            await jobs.add(job)
            async with asyncio.timeout(10):
                while await jobs.get(job.job_id) is not None:
                    await asyncio.sleep(0.05)
