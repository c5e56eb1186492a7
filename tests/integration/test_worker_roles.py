"""The converter and notification roles in-process, wired as `mp3converter run` wires them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from bson import ObjectId

from mp3converter import bootstrap
from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.contracts import ConvertVideo, JobSucceeded, utcnow
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.roles import converter, notification
from tests.inprocess import serving_with_ops, settings_for
from tests.mail_parts import alternatives, html_of, markup, text_of
from tests.media import make_noise_wav, make_video
from tests.services import Mailbox

WAIT_SECONDS = 60.0


async def queued_job(db: Any, data: bytes, filename: str) -> tuple[str, str]:
    """A queued job of ann's with its video stored, as the upload role leaves it: (job, file)."""
    stored = await GridFSStore(db, "videos").save(one_piece(data), filename=filename, metadata={})
    now, job_id = utcnow(), uuid.uuid4().hex
    job = Job(
        job_id=job_id,
        owner_id="ann",
        owner_email="ann@example.com",
        filename=filename,
        status=JobStatus.QUEUED,
        created_at=now,
        updated_at=now,
        video_file_id=stored.file_id,
    )
    await JobStore(db).add(job)
    return job_id, stored.file_id


async def one_piece(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_the_converter_role_converts_a_queued_job(
    mongodb_url: str, mongo_client: Any, tmp_path: Path
) -> None:
    settings = settings_for(mongodb_url, "http://127.0.0.1:9")
    db = mongo_client[settings.mongodb_db]
    jobs = JobStore(db)
    data = make_video(tmp_path / "clip.mp4", seconds=2).read_bytes()
    job_id, file_id = await queued_job(db, data, "clip.mp4")
    try:
        async with (
            serving_with_ops(converter.create_app(settings), settings) as (_, ops),
            bootstrap.broker(settings, "test") as broker,
        ):
            ready = await ops.get("/readyz")
            await broker.publish(ConvertVideo(job_id=job_id, owner_id="ann", video_file_id=file_id))
            async with asyncio.timeout(WAIT_SECONDS):
                while (job := await jobs.get(job_id)) is None or not job.is_final:
                    await asyncio.sleep(0.1)
                # The source is deleted just after the job is marked done, not in the same write.
                while (job := await jobs.get(job_id)) is not None and job.video_file_id:
                    await asyncio.sleep(0.05)
            source_left = await db["videos.files"].count_documents({"_id": ObjectId(file_id)})
    finally:
        await mongo_client.drop_database(settings.mongodb_db)

    assert ready.json()["checks"] == {"mongodb": "ok", "rabbitmq": "ok"}
    assert job is not None
    assert job.status is JobStatus.DONE
    assert job.mp3_file_id is not None
    assert source_left == 0  # the source is deleted once converted


async def test_the_notification_role_mails_an_outcome(
    mongodb_url: str, mongo_client: Any, mailbox: tuple[Mailbox, int]
) -> None:
    inbox, port = mailbox
    settings = settings_for(
        mongodb_url, "http://127.0.0.1:9", smtp_host="127.0.0.1", smtp_port=port
    )
    event = JobSucceeded(
        job_id=uuid.uuid4().hex,
        owner_id="ann",
        owner_email="ann@example.com",
        filename="talk.mp4",
        duration_seconds=2.0,
        size_bytes=100,
    )
    try:
        async with (
            serving_with_ops(notification.create_app(settings), settings) as (_, ops),
            bootstrap.broker(settings, "test") as broker,
        ):
            ready = await ops.get("/readyz")
            await broker.publish(event)
            mail = await inbox.wait_for(lambda m: event.job_id in text_of(m))
    finally:
        await mongo_client.drop_database(settings.mongodb_db)

    assert ready.json()["role"] == "notification"
    assert mail["To"] == "ann@example.com"
    assert mail["Subject"] == "Your MP3 is ready: talk.mp4"
    assert alternatives(mail) == ["text/plain", "text/html"]
    ((href, _), *_) = markup(html_of(mail)).links
    assert f"/download/{event.job_id}?" in href
    assert f"\n{href}\n" in text_of(mail)


@pytest.mark.parametrize("role", [converter, notification])
async def test_a_worker_role_answers_health_and_metrics(mongodb_url: str, role: Any) -> None:
    settings = settings_for(mongodb_url, "http://127.0.0.1:9")
    async with serving_with_ops(role.create_app(settings), settings) as (_, ops):
        health = await ops.get("/healthz")
        metrics = await ops.get("/metrics")

    assert health.json() == {"status": "ok", "role": role.ROLE}
    assert "mp3converter_conversion_seconds" in metrics.text or "mp3converter" in metrics.text


async def test_a_converter_runs_as_many_jobs_at_once_as_it_has_slots(
    mongodb_url: str, mongo_client: Any, tmp_path: Path
) -> None:
    settings = settings_for(mongodb_url, "http://127.0.0.1:9", converter_concurrency=2)
    db = mongo_client[settings.mongodb_db]
    jobs = JobStore(db)
    noise = make_noise_wav(tmp_path / "noise.wav", seconds=240).read_bytes()
    job_ids = [await queued_job(db, noise, "noise.wav") for _ in range(2)]
    most_at_once = 0
    try:
        async with (
            serving_with_ops(converter.create_app(settings), settings),
            bootstrap.broker(settings, "test") as broker,
        ):
            for job_id, file_id in job_ids:
                await broker.publish(
                    ConvertVideo(job_id=job_id, owner_id="ann", video_file_id=file_id)
                )
            async with asyncio.timeout(WAIT_SECONDS):
                while True:
                    found = [await jobs.get(job_id) for job_id, _ in job_ids]
                    ffmpegs = [p for p in psutil.Process().children() if p.name() == "ffmpeg"]
                    most_at_once = max(most_at_once, len(ffmpegs))
                    if all(job is not None and job.is_final for job in found):
                        break
                    await asyncio.sleep(0.05)
    finally:
        await mongo_client.drop_database(settings.mongodb_db)

    assert most_at_once == 2
    assert [job.status for job in found if job is not None] == [JobStatus.DONE, JobStatus.DONE]
