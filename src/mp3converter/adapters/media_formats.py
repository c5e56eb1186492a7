"""The input formats the converter opens: containers and audio files that refer to nothing else.

ffmpeg and ffprobe get this list as `-format_whitelist`; a file detected as anything else (HLS,
DASH, concat, image sequences, SDP, ... — formats that open other files or URLs) is refused before
its header is read. Keys are ffmpeg demuxer names, values what users call them.

The converter's own ffmpeg build has no demuxer for the formats that refer to other files, so to it
they are just unreadable; `referring_format` names them from their first bytes for the refusal.
"""

import re

ALLOWED_DEMUXERS: dict[str, str] = {
    "mov": "MP4, MOV, M4A, 3GP",
    "matroska": "Matroska (MKV), WebM",
    "avi": "AVI",
    "flv": "FLV",
    "mpegts": "MPEG-TS",
    "mpeg": "MPEG-PS (MPG, VOB)",
    "asf": "ASF (WMV, WMA)",
    "ogg": "Ogg",
    "wav": "WAV",
    "w64": "Wave64",
    "flac": "FLAC",
    "mp3": "MP3",
    "aac": "AAC",
    "ac3": "AC-3",
    "eac3": "E-AC-3",
    "aiff": "AIFF",
    "caf": "CAF",
    "amr": "AMR",
    "wv": "WavPack",
}
FORMAT_WHITELIST = ",".join(ALLOWED_DEMUXERS)
SUPPORTED_SUMMARY = ", ".join(ALLOWED_DEMUXERS.values())
HEAD_BYTES = 4096

_BOM = rb"(?:\xef\xbb\xbf)?\s*"
_REFERRING_FORMATS = (
    (re.compile(_BOM + rb"#EXTM3U"), "an HLS (M3U) playlist"),
    (re.compile(_BOM + rb"ffconcat version"), "an ffmpeg concat list"),
    (re.compile(_BOM + rb"(?:<\?xml[^>]{0,256}\?>\s*)?<MPD[\s>]"), "a DASH manifest"),
    (re.compile(rb"v=0\r?\no="), "an SDP session description"),
)


def referring_format(head: bytes) -> str | None:
    """What a file is, from its first HEAD_BYTES, if it is a playlist, manifest or session
    description (a list of other files or streams to open); None for anything else."""
    for signature, kind in _REFERRING_FORMATS:
        if signature.match(head[:HEAD_BYTES]):
            return kind
    return None
