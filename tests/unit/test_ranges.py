"""Parsing of a single HTTP byte range."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mp3converter.web.ranges import RangeNotSatisfiable, parse_range

LENGTH = 1000


@pytest.mark.parametrize("header", [None, ""])
def test_no_header_means_the_whole_body(header: str | None) -> None:
    assert parse_range(header, LENGTH) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=0-0", (0, 0)),
        ("bytes=500-", (500, 999)),
        ("bytes=999-", (999, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-1", (999, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-999", (0, 999)),
        ("bytes= 10 - 19", (10, 19)),
    ],
)
def test_satisfiable_ranges(header: str, expected: tuple[int, int]) -> None:
    assert parse_range(header, LENGTH) == expected


@pytest.mark.parametrize(
    "header",
    ["bytes=1000-", "bytes=1000-1001", "bytes=5000-", "bytes=20-10", "bytes=-0"],
)
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, LENGTH)


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=-10"])
def test_nothing_is_satisfiable_in_an_empty_file(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 0)


@pytest.mark.parametrize(
    "header",
    ["bytes=0-1,5-6", "bytes=0-99, 200-299", "items=0-99", "bytes=-", "bytes=a-b", "garbage"],
)
def test_multiple_or_unknown_ranges_send_everything(header: str) -> None:
    assert parse_range(header, LENGTH) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-" + "9" * 150, (0, 999)),
        ("bytes=-" + "9" * 150, (0, 999)),
        ("bytes=0000000000000000000000000010-19", (10, 19)),
        ("bytes=" + "9" * 5000 + "-", None),  # too long to be one range: the whole body
    ],
)
def test_numbers_of_any_length_are_read_without_error(
    header: str, expected: tuple[int, int] | None
) -> None:
    assert parse_range(header, LENGTH) == expected


@pytest.mark.parametrize("header", ["bytes=" + "9" * 100 + "-", "bytes=10000000000000000000-"])
def test_a_start_beyond_any_file_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, LENGTH)


@pytest.mark.parametrize("header", ["bytes=٣-٤", "bytes=\uff11-\uff12"])
def test_only_ascii_digits_count(header: str) -> None:
    assert parse_range(header, LENGTH) is None


@given(header=st.text(max_size=300), length=st.integers(min_value=0, max_value=2**63))
@settings(max_examples=2000, deadline=None)
def test_any_header_gives_a_range_inside_the_file_or_the_one_expected_error(
    header: str, length: int
) -> None:
    try:
        result = parse_range(header, length)
    except RangeNotSatisfiable:
        return
    if result is not None:
        start, end = result
        assert 0 <= start <= end < length


@given(
    first=st.one_of(st.none(), st.integers(min_value=0, max_value=10**40)),
    last=st.one_of(st.none(), st.integers(min_value=0, max_value=10**40)),
    length=st.integers(min_value=0, max_value=10**12),
)
@settings(max_examples=2000, deadline=None)
def test_well_formed_ranges_follow_rfc_9110(
    first: int | None, last: int | None, length: int
) -> None:
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    try:
        result = parse_range(header, length)
    except RangeNotSatisfiable:
        satisfiable = (first is None and last is not None and last > 0 and length > 0) or (
            first is not None and first < length and (last is None or last >= first)
        )
        assert not satisfiable
        return
    if first is None and last is None:
        assert result is None
    elif first is None:
        assert last is not None
        assert result == (max(length - last, 0), length - 1)
    else:
        assert result == (first, length - 1 if last is None else min(last, length - 1))
