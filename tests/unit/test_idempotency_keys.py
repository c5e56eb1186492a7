"""Parsing the Idempotency-Key header, and where a key is recorded."""

from __future__ import annotations

import pytest

from mp3converter.domain.idempotency import BadIdempotencyKey, parse_key, record_id


@pytest.mark.parametrize(
    ("header", "key"),
    [
        (None, None),
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ("8e03978e-40d5", "8e03978e-40d5"),
        ('"with \\"quotes\\" and \\\\"', 'with "quotes" and \\'),
        ('"spaces are fine inside"', "spaces are fine inside"),
        ('  "padded"  ', "padded"),
    ],
)
def test_keys_are_read_as_strings(header: str | None, key: str | None) -> None:
    assert parse_key(header) == key


@pytest.mark.parametrize(
    "header",
    ['""', "", '"unterminated', '"a"b', '"bad \\x escape"', "two words", "é", '"tab\there"'],
)
def test_what_is_not_a_key_is_refused(header: str) -> None:
    with pytest.raises(BadIdempotencyKey):
        parse_key(header)


def test_a_key_has_at_most_255_characters() -> None:
    assert parse_key("k" * 255) == "k" * 255
    with pytest.raises(BadIdempotencyKey):
        parse_key("k" * 256)


def test_the_same_key_of_two_users_is_recorded_apart() -> None:
    assert record_id("ann", "k") != record_id("bob", "k")
    assert record_id("ann", "k") == record_id("ann", "k")
    assert record_id("an", "nk") != record_id("ann", "k")
