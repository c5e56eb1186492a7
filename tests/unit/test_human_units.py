"""Lengths, sizes and times as people read them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mp3converter.domain.human_units import human_duration, human_size, human_time


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "under 1 s"),
        (1.0, "1 s"),
        (59.4, "59 s"),
        (59.6, "1 min"),
        (61.34, "1 min 1 s"),
        (252.3, "4 min 12 s"),
        (3600.0, "1 h"),
        (3725.0, "1 h 2 min"),
        (4 * 3600 + 59.0, "4 h"),
    ],
)
def test_a_duration_reads_in_the_two_largest_units(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan"), float("inf")])
def test_what_is_not_a_length_has_no_text(seconds: float) -> None:
    assert human_duration(seconds) is None


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 kB"),
        (99_940, "99.9 kB"),
        (99_960, "100 kB"),
        (999_400, "999 kB"),
        (999_600, "1.0 MB"),
        (1_234_567, "1.2 MB"),
        (3_800_000, "3.8 MB"),
        (123_456_789, "123 MB"),
        (1_073_741_824, "1.1 GB"),
        (10**16, "10000 TB"),
    ],
)
def test_a_size_reads_in_si_units_with_three_digits_at_most(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize("size", [0, -5])
def test_what_is_not_a_size_has_no_text(size: int) -> None:
    assert human_size(size) is None


def test_a_time_reads_in_utc_to_the_minute_never_later() -> None:
    paris = timezone(timedelta(hours=2))
    moment = datetime(2024, 6, 4, 16, 5, 59, tzinfo=paris)

    assert human_time(moment) == "Tue 4 Jun 2024, 14:05 UTC"
    assert human_time(datetime(2025, 12, 31, 23, 59, tzinfo=UTC)) == "Wed 31 Dec 2025, 23:59 UTC"
