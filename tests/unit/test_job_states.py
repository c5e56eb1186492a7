"""The job state machine: which moves are allowed, and which states are final."""

from datetime import UTC, datetime
from itertools import product

import pytest

from mp3converter.domain.jobs import ALLOWED_FROM, FINAL, Job, JobStatus

Q, C, D, F = JobStatus.QUEUED, JobStatus.CONVERTING, JobStatus.DONE, JobStatus.FAILED

# Every (current, target) pair the design allows; all others must be refused.
EXPECTED_ALLOWED = {(Q, C), (C, C), (C, D), (Q, F), (C, F)}


def can_move(current: JobStatus, target: JobStatus) -> bool:
    """What JobStore.move's filter lets through: the job is in one of ALLOWED_FROM[target]."""
    return current in ALLOWED_FROM[target]


@pytest.mark.parametrize(("current", "target"), list(product(JobStatus, JobStatus)))
def test_can_move_matches_the_design_for_every_pair(current: JobStatus, target: JobStatus) -> None:
    assert can_move(current, target) is ((current, target) in EXPECTED_ALLOWED)


def test_allowed_from_covers_every_state() -> None:
    assert set(ALLOWED_FROM) == set(JobStatus)


@pytest.mark.parametrize("final", [D, F])
def test_final_states_never_move(final: JobStatus) -> None:
    assert not any(can_move(final, target) for target in JobStatus)


def test_nothing_moves_back_to_queued() -> None:
    assert not any(can_move(current, Q) for current in JobStatus)


def test_queued_cannot_skip_converting_to_done() -> None:
    assert not can_move(Q, D)


def test_converting_may_be_entered_again_after_a_redelivery() -> None:
    assert can_move(C, C)


def _job(status: JobStatus) -> Job:
    now = datetime.now(UTC)
    return Job(
        job_id="j1",
        owner_id="u1",
        owner_email="u@example.com",
        filename="a.mp4",
        status=status,
        created_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize("status", list(JobStatus))
def test_job_is_final_only_when_done_or_failed(status: JobStatus) -> None:
    assert _job(status).is_final is (status in {D, F})
    assert (status in FINAL) is (status in {D, F})
