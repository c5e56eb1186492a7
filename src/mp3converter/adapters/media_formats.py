"""The input formats the converter opens: containers and audio files that refer to nothing else.

ffmpeg and ffprobe get this list as `-format_whitelist`; a file detected as anything else (HLS,
DASH, concat, image sequences, SDP, ... — formats that open other files or URLs) is refused before
its header is read. Keys are ffmpeg demuxer names, values what users call them.
"""

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
