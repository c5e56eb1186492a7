"""Whether a file can be read front to back: then it can be converted while it still uploads.

Formats whose index sits at the end (an MP4 with its `moov` box after `mdat`) need seeking and
keep the path that waits for the whole file. Anything not recognised here takes that path too.
"""

from __future__ import annotations

import struct

# Enough to tell every format below, and an MP4's top-level boxes up to the start of `moov`.
HEAD_BYTES = 64 * 1024
# What a probe of a file still arriving reads: a few frames of every stream, or all of an MP4's
# `moov` (its index, large for long videos) and a little more.
PROBE_BYTES = 1024 * 1024
MAX_PROBE_BYTES = 64 * 1024 * 1024
_TS_PACKET = 188
_MP4_CONTAINERS = {b"moov", b"mdat"}
_MP4_SKIPPABLE = {b"ftyp", b"free", b"skip", b"wide", b"uuid", b"pdin", b"styp"}


def _mp4_moov_first(head: bytes) -> bool | None:
    """True if `moov` comes before `mdat`, False if after; None if this is not an MP4 head."""
    found = _mp4_top_box(head)
    return None if found is None else found[0] == b"moov"


def _mp4_top_box(head: bytes) -> tuple[bytes, int] | None:
    """The first of `moov`/`mdat` at the top of an MP4 and where it ends; (b"", 0) when neither
    can be found among known boxes; None if this is not an MP4 head."""
    offset = 0
    while offset + 8 <= len(head):
        size, kind = struct.unpack(">I4s", head[offset : offset + 8])
        size, kind = int(size), bytes(kind)
        if offset == 0 and kind != b"ftyp":
            return None
        if size == 1 and offset + 16 <= len(head):
            size = int(struct.unpack(">Q", head[offset + 8 : offset + 16])[0])
        if kind in _MP4_CONTAINERS:
            return kind, offset + size
        if kind not in _MP4_SKIPPABLE or size < 8:
            return b"", 0  # an unknown top-level box before moov: do not guess
        offset += size
    return None if offset == 0 else (b"", 0)


def _is_mpegts(head: bytes) -> bool:
    return len(head) >= 3 * _TS_PACKET and all(head[i * _TS_PACKET] == 0x47 for i in range(3))


def _is_mp3(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def reads_front_to_back(head: bytes) -> bool:
    """Whether the file starting with `head` can be decoded as it arrives, without seeking."""
    moov_first = _mp4_moov_first(head)
    if moov_first is not None:
        return moov_first
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, WebM
        return True
    if head.startswith((b"FLV", b"fLaC", b"OggS")):
        return True
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return True
    return _is_mpegts(head) or _is_mp3(head)


def probe_bytes(head: bytes) -> int:
    """How much of a file still arriving to give ffprobe: all of a leading `moov` and then some."""
    found = _mp4_top_box(head)
    if found is not None and found[0] == b"moov":
        return min(max(PROBE_BYTES, found[1] + 256 * 1024), MAX_PROBE_BYTES)
    return PROBE_BYTES
