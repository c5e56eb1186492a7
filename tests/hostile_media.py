"""Uploads an attacker would send, generated at test time: files that refer to other files."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

from tests.media import run_ffmpeg


def secret_audio(directory: Path) -> Path:
    """A file outside any scratch dir whose bytes must never reach an MP3 (MPEG-TS, 3 s tone)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "secret.ts"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:duration=3",
            "-c:a",
            "mp2",
            "-f",
            "mpegts",
            str(path),
        ]
    )
    return path


def hls_playlist(secret: Path) -> bytes:
    """An HLS VOD playlist whose one segment is the secret file."""
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\n{secret}\n#EXT-X-ENDLIST\n".encode()


def hls_live_playlist(secret: Path) -> bytes:
    """A live HLS playlist (no end tag): ffmpeg reloads it and waits for segments forever."""
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\n{secret}\n".encode()


def dash_manifest(secret: Path) -> bytes:
    """A DASH manifest whose representation is the secret file."""
    return (
        '<?xml version="1.0"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT3S"'
        ' minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period>'
        '<AdaptationSet mimeType="audio/mp2t"><Representation id="a" bandwidth="64000">'
        f"<BaseURL>{secret}</BaseURL></Representation></AdaptationSet></Period></MPD>\n"
    ).encode()


def concat_script(secret: Path) -> bytes:
    """An ffconcat script naming the secret file."""
    return f"ffconcat version 1.0\nfile {secret}\n".encode()


def sdp_session(_: Path) -> bytes:
    """An SDP description: ffmpeg would listen for RTP on the network."""
    return (
        b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 14\n"
    )


REFERENCE_FORMATS: dict[str, Callable[[Path], bytes]] = {
    "hls": hls_playlist,
    "hls-live": hls_live_playlist,
    "dash": dash_manifest,
    "concat": concat_script,
    "sdp": sdp_session,
}


def still_image(extension: str) -> Callable[[Path], bytes]:
    """A one-frame picture written by the image2 muxer: what ffmpeg's image-sequence demuxers
    (png_pipe, jpeg_pipe, ...) open; image2 itself is chosen by file name only, and an upload's
    name never reaches ffmpeg."""

    def make(secret: Path) -> bytes:
        path = secret.parent / f"still.{extension}"
        picture = ["-f", "lavfi", "-i", "testsrc2=s=64x64", "-frames:v", "1"]
        run_ffmpeg([*picture, "-f", "image2", str(path)])
        return path.read_bytes()

    return make


IMAGE_FORMATS: dict[str, Callable[[Path], bytes]] = {
    "png": still_image("png"),
    "jpeg": still_image("jpg"),
}
# Everything the converter must refuse as `unsupported-format`.
REFUSED_FORMATS = {**REFERENCE_FORMATS, **IMAGE_FORMATS}


def flac_silence(path: Path, seconds: int, hide_length: bool = False) -> Path:
    """Mono 8 kHz silence in FLAC: hours of audio in tens of KB. Optionally without its length."""
    silence = ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds)]
    run_ffmpeg(
        [*silence, "-c:a", "flac", "-frame_size", "65535", "-compression_level", "0", str(path)]
    )
    if hide_length:
        data = bytearray(path.read_bytes())
        # STREAMINFO follows "fLaC" and a 4-byte block header; its 36-bit sample count sits in
        # the low bits of the 8 bytes after the 10 bytes of block and frame sizes.
        offset = 4 + 4 + 10
        (packed,) = struct.unpack(">Q", data[offset : offset + 8])
        data[offset : offset + 8] = struct.pack(">Q", packed & ~((1 << 36) - 1))
        path.write_bytes(bytes(data))
    return path
