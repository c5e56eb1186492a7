"""Login throttling: free failures, then locks that double up to a ceiling; UTF-8 Basic."""

import base64

import pytest

from mp3converter.domain.throttling import ThrottlePolicy
from mp3converter.web.basic_auth import basic_credentials

POLICY = ThrottlePolicy(max_failures=5, window_seconds=900, max_lock_seconds=900)


@pytest.mark.parametrize(
    ("failures", "lock"),
    [(0, 0), (4, 0), (5, 2), (6, 4), (7, 8), (13, 512), (14, 900), (10_000, 900)],
)
def test_locks_double_after_the_allowed_failures(failures: int, lock: float) -> None:
    assert POLICY.lock_seconds(failures) == lock


def test_two_hundred_wrong_passwords_cost_an_attacker_most_of_an_hour() -> None:
    waited = sum(POLICY.lock_seconds(n) for n in range(1, 21))
    assert waited > 3600  # 20 tries, not 200


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("header", "credentials"),
    [
        (basic("ann@example.com:pässwörd🔑".encode()), ("ann@example.com", "pässwörd🔑")),
        (basic(b"ann:with:colons"), ("ann", "with:colons")),
        (basic(b"ann:"), ("ann", "")),
        (None, None),
        ("Bearer abc", None),
        ("Basic !!!", None),
        (basic(b"no-colon"), None),
        (basic(b"ann:\xff\xfe"), None),  # not UTF-8
    ],
)
def test_basic_credentials_are_utf8(
    header: str | None, credentials: tuple[str, str] | None
) -> None:
    assert basic_credentials(header) == credentials
