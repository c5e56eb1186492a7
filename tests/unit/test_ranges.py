"""Parsing of a single HTTP byte range."""

import pytest

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
