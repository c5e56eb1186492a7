"""Per-user quotas and retention times: pure rules."""

from datetime import UTC, datetime, timedelta

import pytest

from mp3converter.domain.quotas import Quota, QuotaKind, Usage
from mp3converter.domain.retention import DAY, Retention

QUOTA = Quota(max_jobs_in_flight=2, max_stored_bytes=1000)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "kind"),
    [
        (Usage(jobs_in_flight=2, stored_bytes=1000), None),
        (Usage(jobs_in_flight=3, stored_bytes=0), QuotaKind.JOBS),
        (Usage(jobs_in_flight=1, stored_bytes=1001), QuotaKind.STORAGE),
        (Usage(jobs_in_flight=3, stored_bytes=5000), QuotaKind.JOBS),
    ],
)
def test_usage_after_an_upload_is_checked_against_each_limit(
    after: Usage, kind: QuotaKind | None
) -> None:
    refusal = QUOTA.exceeded(after)
    assert (refusal.kind if refusal else None) == kind


def test_the_refusal_says_what_to_do() -> None:
    jobs = QUOTA.exceeded(Usage(0, 0).plus(jobs=3, stored_bytes=0))
    storage = QUOTA.exceeded(Usage(1, 900).plus(jobs=1, stored_bytes=200))

    assert jobs is not None
    assert jobs.detail.startswith("you have 2 conversions queued or running; the limit is 2")
    assert storage is not None
    assert (storage.limit, storage.used) == (1000, 1100)
    assert "1000 bytes" in storage.detail


def test_room_left_is_never_negative() -> None:
    assert QUOTA.room(Usage(0, 400)) == 600
    assert QUOTA.room(Usage(0, 4000)) == 0


def test_a_done_job_keeps_its_record_after_its_mp3_expires() -> None:
    fields = Retention(mp3_seconds=7 * DAY, job_seconds=30 * DAY).when_done(NOW)
    assert fields == {"expires_at": NOW + timedelta(days=7), "purge_at": NOW + timedelta(days=30)}


def test_a_record_never_goes_before_its_mp3() -> None:
    fields = Retention(mp3_seconds=10 * DAY, job_seconds=1 * DAY).when_done(NOW)
    assert fields["purge_at"] == fields["expires_at"] == NOW + timedelta(days=10)


def test_a_failed_job_has_only_a_record_to_keep() -> None:
    assert Retention(job_seconds=2 * DAY).when_failed(NOW) == {"purge_at": NOW + timedelta(days=2)}
