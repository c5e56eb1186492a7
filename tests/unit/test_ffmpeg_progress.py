"""The parser of `ffmpeg -progress pipe:1 -nostats` output."""

import pytest

from mp3converter.adapters.ffmpeg_progress import ProgressParser, ProgressUpdate, fraction

# LAST_BLOCK is captured from Debian ffmpeg 5.1; FIRST_BLOCK is one printed before any packet.
FIRST_BLOCK = """bitrate=N/A
total_size=330
out_time_us=N/A
out_time_ms=N/A
out_time=N/A
dup_frames=0
drop_frames=0
speed=N/A
progress=continue
"""
LAST_BLOCK = """bitrate=  41.1kbits/s
total_size=20694
out_time_us=4023923
out_time_ms=4023923
out_time=00:00:04.023923
dup_frames=0
drop_frames=0
speed= 323x
progress=end
"""


def feed_all(parser: ProgressParser, text: str) -> list[ProgressUpdate]:
    updates = [parser.feed(line) for line in text.splitlines(keepends=True)]
    return [u for u in updates if u is not None]


def test_one_update_per_block_at_its_progress_line() -> None:
    parser = ProgressParser()

    updates = feed_all(parser, FIRST_BLOCK + LAST_BLOCK)

    assert updates == [
        ProgressUpdate(out_seconds=0.0, finished=False),
        ProgressUpdate(out_seconds=4.023923, finished=True),
    ]


def test_out_time_ms_alone_is_read_as_microseconds() -> None:
    parser = ProgressParser()

    updates = feed_all(parser, "out_time_ms=2500000\nprogress=continue\n")

    assert updates == [ProgressUpdate(out_seconds=2.5, finished=False)]


def test_values_with_leading_spaces_are_parsed() -> None:
    parser = ProgressParser()

    updates = feed_all(parser, "out_time_us=  1500000\nprogress= end\n")

    assert updates == [ProgressUpdate(out_seconds=1.5, finished=True)]


def test_not_available_keeps_the_last_known_position() -> None:
    parser = ProgressParser()
    feed_all(parser, "out_time_us=3000000\nprogress=continue\n")

    updates = feed_all(parser, "out_time_us=N/A\nout_time_ms=N/A\nprogress=continue\n")

    assert updates == [ProgressUpdate(out_seconds=3.0, finished=False)]


def test_negative_position_from_encoder_priming_reads_as_zero() -> None:
    parser = ProgressParser()

    updates = feed_all(parser, "out_time_us=-23220\nprogress=continue\n")

    assert updates == [ProgressUpdate(out_seconds=0.0, finished=False)]


@pytest.mark.parametrize("line", ["", "\n", "garbage without separator\n", "speed=   0x\n"])
def test_other_lines_give_no_update(line: str) -> None:
    assert ProgressParser().feed(line) is None


@pytest.mark.parametrize(
    ("out_seconds", "total_seconds", "expected"),
    [
        (2.0, 4.0, 0.5),
        (4.02, 4.0, 1.0),
        (-1.0, 4.0, 0.0),
        (2.0, None, 0.0),
        (2.0, 0.0, 0.0),
    ],
)
def test_fraction_is_clamped_to_zero_one(
    out_seconds: float, total_seconds: float | None, expected: float
) -> None:
    assert fraction(out_seconds, total_seconds) == pytest.approx(expected)
