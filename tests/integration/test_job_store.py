"""JobStore against a real MongoDB-wire server: ownership, listing and atomic state moves."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.mongo import Database
from mp3converter.domain.jobs import Job, JobError, JobStatus

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def new_job(
    owner: str = "owner-a", *, minutes: int = 0, status: JobStatus = JobStatus.QUEUED
) -> Job:
    at = T0 + timedelta(minutes=minutes)
    return Job(
        job_id=uuid.uuid4().hex,
        owner_id=owner,
        owner_email=f"{owner}@example.com",
        filename=f"clip-{minutes}.mp4",
        status=status,
        created_at=at,
        updated_at=at,
        video_file_id="0123456789abcdef01234567",
    )


@pytest.fixture
def store(db: Database) -> JobStore:
    return JobStore(db)


async def test_add_then_get_returns_the_same_job(store: JobStore) -> None:
    job = new_job()
    await store.add(job)
    assert await store.get(job.job_id) == job
    assert await store.get(job.job_id, owner_id="owner-a") == job


async def test_get_hides_another_owners_job(store: JobStore) -> None:
    job = new_job("owner-a")
    await store.add(job)
    assert await store.get(job.job_id, owner_id="owner-b") is None
    assert await store.get("no-such-job") is None


async def test_adding_the_same_job_id_twice_fails(store: JobStore) -> None:
    job = new_job()
    await store.add(job)
    with pytest.raises(DuplicateKeyError):
        await store.add(job)


async def test_list_for_owner_is_newest_first_with_limit_and_skip(store: JobStore) -> None:
    mine = [new_job("owner-a", minutes=m) for m in (3, 1, 4, 0, 2)]
    theirs = [new_job("owner-b", minutes=m) for m in (10, 11)]
    for job in [*mine, *theirs]:
        await store.add(job)
    newest_first = sorted(mine, key=lambda j: j.created_at, reverse=True)

    assert await store.list_for_owner("owner-a", limit=10) == newest_first
    assert await store.list_for_owner("owner-a", limit=2) == newest_first[:2]
    assert await store.list_for_owner("owner-a", limit=2, skip=2) == newest_first[2:4]
    assert await store.list_for_owner("owner-a", limit=10, skip=5) == []
    assert [j.job_id for j in await store.list_for_owner("owner-b", limit=10)] == [
        theirs[1].job_id,
        theirs[0].job_id,
    ]
    assert await store.list_for_owner("owner-c", limit=10) == []


async def test_move_follows_the_state_machine(store: JobStore) -> None:
    job = new_job()
    await store.add(job)

    converting = await store.move(job.job_id, JobStatus.CONVERTING)
    assert converting is not None
    assert converting.status is JobStatus.CONVERTING
    assert converting.updated_at > job.updated_at

    done = await store.move(job.job_id, JobStatus.DONE, mp3_file_id="f1", mp3_size_bytes=10)
    assert done is not None
    assert (done.status, done.mp3_file_id, done.mp3_size_bytes) == (JobStatus.DONE, "f1", 10)

    for target in JobStatus:
        assert await store.move(job.job_id, target) is None
    assert await store.get(job.job_id) == done


async def test_queued_cannot_jump_to_done(store: JobStore) -> None:
    job = new_job()
    await store.add(job)
    assert await store.move(job.job_id, JobStatus.DONE, mp3_file_id="f1") is None
    assert await store.get(job.job_id) == job


async def test_moving_an_unknown_job_changes_nothing(store: JobStore) -> None:
    assert await store.move("missing", JobStatus.CONVERTING) is None
    assert await store.get("missing") is None


async def test_a_redelivery_may_enter_converting_again(store: JobStore) -> None:
    job = new_job()
    await store.add(job)
    assert await store.move(job.job_id, JobStatus.CONVERTING) is not None
    again = await store.move(job.job_id, JobStatus.CONVERTING)
    assert again is not None
    assert again.status is JobStatus.CONVERTING


async def test_concurrent_moves_to_done_have_exactly_one_winner(store: JobStore) -> None:
    job = new_job()
    await store.add(job)
    await store.move(job.job_id, JobStatus.CONVERTING)

    results = await asyncio.gather(
        *(store.move(job.job_id, JobStatus.DONE, mp3_file_id=f"f{i}") for i in range(8))
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    stored = await store.get(job.job_id)
    assert stored is not None
    assert stored.status is JobStatus.DONE
    assert stored.mp3_file_id == winners[0].mp3_file_id


async def test_concurrent_done_and_failed_have_exactly_one_winner(store: JobStore) -> None:
    job = new_job()
    await store.add(job)
    await store.move(job.job_id, JobStatus.CONVERTING)
    error = JobError(code="conversion-failed", reason="boom")

    done, failed = await asyncio.gather(
        store.move(job.job_id, JobStatus.DONE),
        store.move(job.job_id, JobStatus.FAILED, error=error),
    )

    assert (done is None) != (failed is None)
    stored = await store.get(job.job_id)
    assert stored is not None
    assert stored.status is (JobStatus.DONE if done else JobStatus.FAILED)


async def test_progress_only_grows_and_only_while_converting(store: JobStore) -> None:
    job = new_job()
    await store.add(job)

    await store.set_progress(job.job_id, 0.5)
    queued = await store.get(job.job_id)
    assert queued is not None
    assert queued.progress == 0.0

    await store.move(job.job_id, JobStatus.CONVERTING)
    for value in (0.25, 0.6, 0.4, 0.6, 0.1):
        await store.set_progress(job.job_id, value)
    converting = await store.get(job.job_id)
    assert converting is not None
    assert converting.progress == 0.6

    await store.move(job.job_id, JobStatus.DONE, progress=1.0)
    await store.set_progress(job.job_id, 0.9)
    done = await store.get(job.job_id)
    assert done is not None
    assert done.progress == 1.0


async def test_failure_is_stored_as_code_and_reason(store: JobStore, db: Database) -> None:
    job = new_job()
    await store.add(job)
    error = JobError(code="no-audio", reason="the file has no audio stream")

    failed = await store.move(job.job_id, JobStatus.FAILED, error=error)

    assert failed is not None
    assert failed.error == error
    assert failed.is_final
    raw = await db.jobs.find_one({"_id": job.job_id})
    assert raw is not None
    assert raw["status"] == "failed"
    assert raw["error"] == {"code": "no-audio", "reason": "the file has no audio stream"}
    assert await store.move(job.job_id, JobStatus.CONVERTING) is None
