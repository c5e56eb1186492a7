"""Telling a file that reads front to back from one that needs seeking, by its first bytes."""

import os
import struct

import pytest

from mp3converter.domain.streamable import (
    HEAD_BYTES,
    MAX_PROBE_BYTES,
    PROBE_BYTES,
    probe_bytes,
    reads_front_to_back,
)


def box(kind: bytes, size: int) -> bytes:
    """An MP4 box header of this kind and total size, padded to the size (up to 4 KiB shown)."""
    return struct.pack(">I4s", size, kind) + bytes(min(size, 4096) - 8)


FTYP = box(b"ftyp", 32)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (FTYP + box(b"moov", 2000) + box(b"mdat", 9000), True),
        (FTYP + box(b"free", 16) + box(b"moov", 2000), True),
        (FTYP + box(b"mdat", 9000), False),  # the index comes at the end
        (FTYP + box(b"abcd", 64) + box(b"moov", 2000), False),  # unknown box: do not guess
        (b"\x1a\x45\xdf\xa3" + bytes(100), True),  # Matroska / WebM
        (b"FLV\x01" + bytes(100), True),
        (b"fLaC" + bytes(100), True),
        (b"OggS" + bytes(100), True),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(100), True),
        (b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(100), False),  # AVI indexes at the end
        (b"ID3\x04" + bytes(100), True),
        (bytes([0xFF, 0xFB, 0x90, 0x00]) + bytes(100), True),  # an MP3 frame
        (b"".join(bytes([0x47]) + bytes(187) for _ in range(3)), True),  # MPEG-TS
        (os.urandom(16) + b"not media at all", False),
        (b"", False),
    ],
)
def test_the_head_says_whether_a_file_reads_front_to_back(head: bytes, expected: bool) -> None:
    assert reads_front_to_back(head[:HEAD_BYTES]) is expected


def test_a_probe_reads_all_of_a_leading_index_and_a_little_more() -> None:
    small = FTYP + box(b"moov", 2000)
    large = FTYP + struct.pack(">I4s", 5_000_000, b"moov")
    huge = FTYP + struct.pack(">I4s", 500_000_000, b"moov")

    assert probe_bytes(small) == PROBE_BYTES
    assert probe_bytes(large) == 32 + 5_000_000 + 256 * 1024
    assert probe_bytes(huge) == MAX_PROBE_BYTES
    assert probe_bytes(b"\x1a\x45\xdf\xa3") == PROBE_BYTES
