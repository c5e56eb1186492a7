"""What the owner of a failed job is told to do."""

import pytest

from mp3converter.domain.failure_advice import ADVICE, FALLBACK, advice_for
from mp3converter.domain.jobs import FailureCode


def test_every_failure_code_has_advice() -> None:
    # A new FailureCode fails here until someone writes what its owner can do about it.
    assert set(ADVICE) == set(FailureCode)


@pytest.mark.parametrize("code", list(FailureCode))
def test_advice_is_one_or_two_sentences(code: FailureCode) -> None:
    advice = advice_for(code)

    assert advice == ADVICE[code]
    assert advice[0].isupper()
    assert advice.endswith(".")
    assert 1 <= advice.count(". ") + 1 <= 2
    assert len(advice) <= 240


def test_an_unknown_code_gets_general_advice() -> None:
    assert advice_for("a-code-from-a-newer-converter") == FALLBACK
