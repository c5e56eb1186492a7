"""Reading a declared Content-Length without trusting its size."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mp3converter.web.content_length import HUGE, declared_length


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0),
        ("1048576", 1048576),
        ("007", 7),
        ("9" * 5000, HUGE),
        ("-1", None),
        ("12 ", None),
        ("1e9", None),
        ("٣", None),
    ],
)
def test_declared_lengths(value: str | None, expected: int | None) -> None:
    assert declared_length(value) == expected


@given(st.text(max_size=6000))
def test_any_text_is_a_number_up_to_huge_or_none(value: str) -> None:
    result = declared_length(value)
    assert result is None or 0 <= result <= HUGE
