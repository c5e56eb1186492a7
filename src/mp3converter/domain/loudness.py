"""Two-pass EBU R128 loudness normalisation: what was measured, and how to reach the target.

Pass one measures the integrated loudness, its range and the true peak (ffmpeg's ebur128
filter, cheap). Pass two applies one gain for the whole file when that keeps the true peak under
the limit (the sound is unchanged, only louder or quieter). Otherwise ffmpeg's loudnorm filter
normalises dynamically, so the peaks are held down; it reaches its target only with the values
(and the offset) of its own analysis, so such a job runs loudnorm's analysis pass first: slower
(loudnorm works at 192 kHz), and only for sound whose peaks forbid the plain gain.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from mp3converter.domain.conversion_options import TRUE_PEAK_LIMIT_DBTP

# MP3 encoding moves peaks a little (the filter bank rings); the gain aims this far under the
# limit so the MP3 itself stays under it.
ENCODER_HEADROOM_DB = 0.5
# The loudness range loudnorm aims for when it must work dynamically (its own default).
DYNAMIC_RANGE_LU = 11.0
# ebur128 reports -70 LUFS (its gate) for silence: nothing to normalise.
SILENCE_LUFS = -69.0


class LoudnessMode(StrEnum):
    """How the target was reached."""

    LINEAR = "linear"  # one gain for the whole file
    DYNAMIC = "dynamic"  # loudnorm's dynamic normalisation, the peaks held down
    SILENT = "silent"  # nothing to normalise: left as it is


@dataclass(frozen=True)
class Measurement:
    """What pass one found (true peak in dBTP, the rest in LUFS / LU)."""

    integrated: float
    true_peak: float
    lra: float
    threshold: float


@dataclass(frozen=True)
class Plan:
    """How pass two reaches the target."""

    mode: LoudnessMode
    target: float
    gain_db: float
    measured: Measurement
    # loudnorm's own correction for its dynamic output (from its analysis pass).
    offset: float = 0.0

    @property
    def aimed_peak(self) -> float:
        """The true peak pass two aims for."""
        return TRUE_PEAK_LIMIT_DBTP - ENCODER_HEADROOM_DB


class LoudnessReport(BaseModel):
    """The loudness a job measured and reached, as its resource shows it."""

    model_config = ConfigDict(frozen=True)

    target_lufs: float
    mode: LoudnessMode
    input_lufs: float
    input_true_peak_dbtp: float
    input_lra: float
    output_lufs: float | None
    output_true_peak_dbtp: float | None


def plan(measured: Measurement, target: float) -> Plan:
    """A linear gain when the true peak allows it, else dynamic normalisation."""
    if not math.isfinite(measured.integrated) or measured.integrated <= SILENCE_LUFS:
        return Plan(LoudnessMode.SILENT, target, 0.0, measured)
    gain = target - measured.integrated
    limit = TRUE_PEAK_LIMIT_DBTP - ENCODER_HEADROOM_DB
    if math.isfinite(measured.true_peak) and measured.true_peak + gain <= limit:
        return Plan(LoudnessMode.LINEAR, target, gain, measured)
    return Plan(LoudnessMode.DYNAMIC, target, gain, measured)


def dynamic(target: float, analysis: tuple[Measurement, float]) -> Plan:
    """Dynamic normalisation with the values of loudnorm's own analysis pass."""
    measured, offset = analysis
    return Plan(LoudnessMode.DYNAMIC, target, target - measured.integrated, measured, offset)


def report(chosen: Plan, dynamic_output: tuple[float, float] | None) -> LoudnessReport:
    """The job's report; a linear gain moves loudness and peak by exactly that gain, a dynamic
    pass reports what loudnorm measured on its output."""
    measured = chosen.measured
    if chosen.mode is LoudnessMode.DYNAMIC:
        output = dynamic_output if dynamic_output is not None else (None, None)
    else:
        output = (measured.integrated + chosen.gain_db, measured.true_peak + chosen.gain_db)
    return LoudnessReport(
        target_lufs=chosen.target,
        mode=chosen.mode,
        input_lufs=measured.integrated,
        input_true_peak_dbtp=_finite(measured.true_peak),
        input_lra=measured.lra,
        output_lufs=_rounded(output[0]),
        output_true_peak_dbtp=_rounded(output[1]),
    )


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -144.0


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 1)


_NUMBER = r"(-?(?:\d+(?:\.\d+)?|inf))"
_SUMMARY = re.compile(
    r"Integrated loudness:\s+I:\s+" + _NUMBER + r" LUFS\s+Threshold:\s+" + _NUMBER + r" LUFS"
    r"\s+Loudness range:\s+LRA:\s+" + _NUMBER + r" LU"
    r".*?True peak:\s+Peak:\s+" + _NUMBER + r" dBFS",
    re.DOTALL,
)


def parse_ebur128_summary(stderr: str) -> Measurement | None:
    """The summary ffmpeg's ebur128 filter (peak=true) logs when it ends; None if absent."""
    matches = list(_SUMMARY.finditer(stderr))
    if not matches:
        return None
    # The last summary is the one of the whole file.
    integrated, threshold, lra, peak = (float(v) for v in matches[-1].groups())
    return Measurement(integrated=integrated, true_peak=peak, lra=lra, threshold=threshold)


_LOUDNORM_OUTPUT = re.compile(
    r'"output_i"\s*:\s*"' + _NUMBER + r'".*?"output_tp"\s*:\s*"' + _NUMBER + '"', re.DOTALL
)


def parse_loudnorm_output(stderr: str) -> tuple[float, float] | None:
    """Integrated loudness and true peak of loudnorm's output, from its JSON report."""
    matches = list(_LOUDNORM_OUTPUT.finditer(stderr))
    if not matches:
        return None
    return float(matches[-1].group(1)), float(matches[-1].group(2))


_LOUDNORM_INPUT = re.compile(
    r'"input_i"\s*:\s*"' + _NUMBER + r'".*?"input_tp"\s*:\s*"' + _NUMBER + r'"'
    r'.*?"input_lra"\s*:\s*"' + _NUMBER + r'".*?"input_thresh"\s*:\s*"' + _NUMBER + r'"'
    r'.*?"target_offset"\s*:\s*"' + _NUMBER + '"',
    re.DOTALL,
)


def parse_loudnorm_analysis(stderr: str) -> tuple[Measurement, float] | None:
    """What loudnorm's analysis pass measured, and its offset, from its JSON report."""
    matches = list(_LOUDNORM_INPUT.finditer(stderr))
    if not matches:
        return None
    integrated, peak, lra, threshold, offset = (float(v) for v in matches[-1].groups())
    return Measurement(integrated, peak, lra, threshold), offset
