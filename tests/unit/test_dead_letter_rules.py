"""Which dead letters may be replayed, and what a replayed copy carries."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aio_pika.abc import AbstractIncomingMessage

from mp3converter.adapters.dead_letters import REPLAYS_HEADER, read_letter, replay_headers
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.usecases.dead_letters import replay_refusal

WHEN = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)


def job(status: JobStatus, video: str | None = "v1") -> Job:
    return Job(
        job_id="j",
        owner_id="u",
        owner_email="u@example.com",
        filename="a.mp4",
        status=status,
        created_at=WHEN,
        updated_at=WHEN,
        video_file_id=video,
    )


def message(headers: dict[str, Any]) -> AbstractIncomingMessage:
    return cast(AbstractIncomingMessage, SimpleNamespace(headers=headers, correlation_id="j"))


@pytest.mark.parametrize(
    ("status", "video", "refused"),
    [
        (JobStatus.QUEUED, "v1", False),
        (JobStatus.CONVERTING, "v1", False),
        (JobStatus.FAILED, "v1", False),
        (JobStatus.FAILED, None, True),
        (JobStatus.DONE, "v1", True),
    ],
)
def test_a_command_is_replayed_only_when_its_job_can_run_again(
    status: JobStatus, video: str | None, refused: bool
) -> None:
    assert (replay_refusal("convert", job(status, video)) is not None) is refused


def test_nothing_is_replayed_for_a_job_that_no_longer_exists() -> None:
    assert replay_refusal("convert", None)
    assert replay_refusal("notification", None)


def test_an_event_is_replayed_whatever_its_job_state() -> None:
    assert replay_refusal("notification", job(JobStatus.DONE)) is None


def test_a_replayed_copy_keeps_the_trace_and_drops_the_death_records() -> None:
    dead = message(
        {
            "traceparent": "00-abc-def-01",
            "x-death": [{"count": 3, "reason": "delivery_limit", "time": WHEN}],
            "x-first-death-reason": "delivery_limit",
            "x-last-death-queue": "p.convert",
            "x-delivery-count": 2,
        }
    )
    assert replay_headers(dead) == {"traceparent": "00-abc-def-01", REPLAYS_HEADER: 1}
    again = message({REPLAYS_HEADER: 1, "x-death": []})
    assert replay_headers(again) == {REPLAYS_HEADER: 2}


def test_the_death_record_is_read_from_x_death() -> None:
    letter = read_letter(
        message({"x-death": [{"count": 3, "reason": b"rejected", "time": WHEN}]}), "p.convert.dead"
    )
    assert (letter.reason, letter.deaths, letter.died_at, letter.job_id) == (
        "rejected",
        3,
        WHEN,
        "j",
    )
    unknown = read_letter(message({}), "p.convert.dead")
    assert (unknown.reason, unknown.deaths, unknown.died_at) == ("unknown", 1, None)
