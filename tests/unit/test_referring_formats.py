"""Playlists, manifests and session descriptions are named from their first bytes."""

from __future__ import annotations

import pytest

from mp3converter.adapters.media_formats import HEAD_BYTES, referring_format

NAMED = {
    b"#EXTM3U\n#EXTINF:3,\nsegment.ts\n": "an HLS (M3U) playlist",
    b"\xef\xbb\xbf#EXTM3U\r\n": "an HLS (M3U) playlist",
    b"\n  #EXTM3U\n": "an HLS (M3U) playlist",
    b"ffconcat version 1.0\nfile /etc/passwd\n": "an ffmpeg concat list",
    b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">': "a DASH manifest",
    b"<MPD type='static'>": "a DASH manifest",
    b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\n": "an SDP session description",
}


@pytest.mark.parametrize("head", list(NAMED))
def test_each_kind_is_named(head: bytes) -> None:
    assert referring_format(head) == NAMED[head]


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41",  # MP4
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01",  # Matroska
        b"ID3\x04\x00\x00\x00\x00\x00\x00#EXTM3U",  # an MP3 whose tag holds the word
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"v=0 is how this text file starts\n",
        b"some text\n#EXTM3U\n",  # the signature must open the file
    ],
)
def test_other_files_are_not_named(head: bytes) -> None:
    assert referring_format(head) is None


def test_only_the_head_is_read() -> None:
    assert referring_format(b" " * HEAD_BYTES + b"#EXTM3U") is None
