"""What the owner of a failed job can do about it: one or two sentences per failure code."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mp3converter.domain.jobs import FailureCode

REEXPORT = "re-export it as MP4 (H.264 video, AAC audio), which most editors and phones can do"

ADVICE: Mapping[FailureCode, str] = MappingProxyType(
    {
        FailureCode.NOT_MEDIA: (
            "The file does not look like a video or audio file, or it is damaged. "
            f"Check that it plays on your computer, {REEXPORT}, and upload it again."
        ),
        FailureCode.UNSUPPORTED_FORMAT: (
            f"This kind of file is not accepted. Please {REEXPORT}, and upload that file."
        ),
        FailureCode.PROBE_TIMEOUT: (
            "Reading the file took too long, which usually means it is damaged or unusually "
            f"built. Please {REEXPORT}, and upload it again."
        ),
        FailureCode.NO_AUDIO: (
            "The video has no sound track, so there is nothing to put in an MP3. "
            "Export it again with its audio, and upload that file."
        ),
        FailureCode.NO_SUCH_AUDIO_TRACK: (
            "The file has fewer audio tracks than the one asked for (counted from 0). "
            "Upload it again with a lower audio_track, or leave it out for the first track."
        ),
        FailureCode.TRIM_OUT_OF_RANGE: (
            "The start asked for is at or past the end of the media, so nothing is left to "
            "convert. Upload it again with an earlier start."
        ),
        FailureCode.TOO_LONG: (
            "The video is longer than the limit given above. "
            "Trim it to under that length, or split it into parts, and upload each part."
        ),
        FailureCode.TRUNCATED_INPUT: (
            "The file ends earlier than it says it does: it was probably cut off while it was "
            "copied or uploaded. Upload the complete file again."
        ),
        FailureCode.CONVERSION_FAILED: (
            f"The file could not be decoded; it may be damaged. Please {REEXPORT}, "
            "and upload it again."
        ),
        FailureCode.CONVERSION_TIMEOUT: (
            "The conversion took longer than it is allowed to. "
            "Split the video into shorter parts and upload each part."
        ),
        FailureCode.OUTPUT_TOO_LARGE: (
            "The MP3 would be larger than the size limit. "
            "Trim the video, or split it into shorter parts, and upload each part."
        ),
        FailureCode.SOURCE_MISSING: (
            "The uploaded video was removed before it could be converted. Please upload it again."
        ),
        FailureCode.UPLOAD_INCOMPLETE: (
            "The upload stopped before the whole file arrived. "
            "Please upload it again, on a steady connection if you can."
        ),
        FailureCode.RETRIES_EXHAUSTED: (
            "A temporary problem on our side stopped the conversion; your file is not the cause. "
            "Please try again later."
        ),
    }
)

# For a code this version does not know yet (an event from a newer converter).
FALLBACK = f"Please try again; if it fails again, {REEXPORT}, and upload that file."


def advice_for(code: str) -> str:
    """The advice for a failure code; a general one for a code not known here."""
    try:
        return ADVICE[FailureCode(code)]
    except (ValueError, KeyError):
        return FALLBACK
