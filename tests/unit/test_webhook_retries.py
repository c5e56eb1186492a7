"""The retry schedule of webhook deliveries: parsing, jitter bounds, and the default."""

from __future__ import annotations

import random

import pytest

from mp3converter.config import Settings
from mp3converter.domain.webhook_retries import DEFAULT_SCHEDULE, RetrySchedule, parse_schedule

HOUR = 3600.0


def test_a_schedule_is_delays_with_units() -> None:
    assert parse_schedule("5s, 5m,30m ,2h,1d") == (5.0, 300.0, 1800.0, 7200.0, 86400.0)
    assert parse_schedule("0.2,0.2") == (0.2, 0.2)
    assert parse_schedule("250ms") == (0.25,)


@pytest.mark.parametrize("text", ["", "5s,,5m", "5 minutes", "-1", "0", "1w", "5s;5m"])
def test_a_malformed_schedule_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="delay"):
        parse_schedule(text)


def test_the_default_retries_within_ten_seconds_and_for_a_day() -> None:
    schedule = RetrySchedule.parse(DEFAULT_SCHEDULE)
    first = schedule.bounds_after(1)
    assert first is not None
    assert first[1] <= 10.0
    assert schedule.max_attempts >= 6
    shortest_total = sum(low for low, _ in filter(None, map(schedule.bounds_after, range(1, 8))))
    assert shortest_total >= 20 * HOUR  # spread over about a day, even with the jitter
    assert schedule.max_attempts == 8
    assert sum(schedule.delays) == 5 + 5 * 60 + 30 * 60 + 2 * HOUR + 5 * HOUR + 20 * HOUR


def test_each_delay_is_jittered_within_its_bounds() -> None:
    schedule = RetrySchedule((10.0, 100.0))
    rng = random.Random(7)
    for attempts, (low, high) in ((1, (8.0, 12.0)), (2, (80.0, 120.0))):
        assert schedule.bounds_after(attempts) == (low, high)
        drawn = [schedule.delay_after(attempts, rng.uniform) for _ in range(200)]
        assert all(d is not None and low <= d <= high for d in drawn)
        assert len(set(drawn)) > 100  # really spread, not one value
    assert schedule.delay_after(1, lambda low, high: low) == 8.0
    assert schedule.delay_after(2, lambda low, high: high) == 120.0


def test_after_the_last_delay_no_attempt_is_left() -> None:
    schedule = RetrySchedule((1.0, 2.0))
    assert schedule.max_attempts == 3
    assert schedule.delay_after(3) is None
    assert schedule.bounds_after(3) is None
    assert schedule.delay_after(0) is None


def test_the_setting_is_checked_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "1s,1m")
    assert Settings().webhook_retries.delays == (1.0, 60.0)
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "soon")
    with pytest.raises(ValueError, match="not a delay"):
        Settings()
