"""Converter CPU per job of each conversion option (issue #10), against bare ffmpeg.

Generates one realistic clip (pink noise and tones in stereo AAC 44.1 kHz, with a small 1 fps
testsrc2 video so that cover=frame has a frame to take), starts SecantusDB and the five roles
(bench/harness.py), and for every round and option case uploads the clip with the case's form
fields, waits until its job is done and takes the converter's CPU (self + reaped children; see
bench/table.py), then runs the equivalent plain ffmpeg command line(s) and takes their CPU.

Goals: a single-pass option costs at most 1.03x bare ffmpeg; a loudness job (two passes) at most
1.35x the single-pass job. Progress goes to stderr. Run: `.venv/bin/python bench/options.py`
(`make bench`); a quick smoke run: `.venv/bin/python bench/options.py --seconds 60 --rounds 1`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway_client import Gateway
from harness import platform
from media import BARE, bare_commands, make_video
from mp3converter.adapters.ffmpeg import COVER_AT_FRACTION
from table import (
    DASH,
    GENERATE_TIMEOUT_SECONDS,
    TIMES,
    Bench,
    Media,
    Row,
    ffmpeg_version,
    log,
    one_job,
    report_role_warnings,
    role_output_on_error,
    spread,
    text_table,
)

MB = 1_000_000
CLIP_SIZE = "320x240"
CLIP_FPS = 1
SINGLE_PASS_GOAL = 1.03
LOUDNESS_GOAL = 1.35
HEADER = ("option case", "platform converter CPU s", "bare ffmpeg CPU s", "ratio")
TAGS = {"title": "Bench title", "artist": "Bench artist", "album": "Bench album"}
# The converter's default mode (VBR quality 2); ffmpeg's own default for libmp3lame is CBR 128k.
VBR2 = ("-q:a", "2")


@dataclass
class Case:
    """One row: the upload's form fields and the plain ffmpeg command line(s) of the same job."""

    label: str
    fields: dict[str, str]
    bare: list[list[str]]
    # Two-pass (loudness) jobs: their baseline is the bare single-pass encode, and their platform
    # CPU is also compared with this single-pass case's.
    single_pass: str | None = None
    row: Row = field(init=False)

    def __post_init__(self) -> None:
        self.row = Row(self.label)


def lame(clip: Path, out: Path, *settings: str, seek: tuple[str, ...] = ()) -> list[str]:
    """Plain ffmpeg: the clip's first audio stream, no video, to MP3 with these settings."""
    head = [*BARE, *seek, "-i", str(clip), "-map", "0:a:0", "-vn"]
    return [*head, "-c:a", "libmp3lame", *settings, str(out)]


def cases(clip: Path, tmp: Path, seconds: int) -> list[Case]:
    """The option cases; the trim and the frame scale with the clip's length."""
    out, cover = tmp / "bare.mp3", tmp / "cover.jpg"
    start, end = f"{seconds / 10:g}", f"{seconds / 2:g}"  # 60 and 300 of a 600 s clip
    at = f"{seconds * COVER_AT_FRACTION:.3f}"  # where the converter takes its frame
    frame = [*BARE, "-ss", at, "-i", str(clip), "-map", "0:v:0", "-frames:v", "1"]
    frame += ["-q:v", "3", str(cover)]
    with_cover = [*BARE, "-i", str(clip), "-i", str(cover), "-map", "0:a:0", "-map", "1:v:0"]
    with_cover += ["-c:v", "copy", "-disposition:v:0", "attached_pic"]
    with_cover += ["-c:a", "libmp3lame", *VBR2, str(out)]
    tags = [arg for key, value in TAGS.items() for arg in ("-metadata", f"{key}={value}")]
    default = "default"
    cbr = "bitrate=128 (CBR)"
    return [
        Case(default, {}, [lame(clip, out, *VBR2)]),
        Case(cbr, {"bitrate": "128"}, [lame(clip, out, "-b:a", "128k")]),
        Case("quality=6", {"quality": "6"}, [lame(clip, out, "-q:a", "6")]),
        Case(
            "sample_rate=22050 channels=1",
            {"sample_rate": "22050", "channels": "1"},
            [lame(clip, out, *VBR2, "-ar", "22050", "-ac", "1")],
        ),
        Case(
            f"start={start} end={end} (trim)",
            {"start": start, "end": end},
            [lame(clip, out, *VBR2, seek=("-ss", start, "-to", end))],
        ),
        Case("title/artist/album (tags only)", TAGS, [lame(clip, out, *VBR2, *tags)]),
        Case("cover=frame", {"cover": "frame"}, [frame, with_cover]),
        Case(
            "loudness=-16 (two passes)",
            {"loudness": "-16"},
            [lame(clip, out, *VBR2)],
            single_pass=default,
        ),
        Case(
            "preset=podcast (128k CBR, -16 LUFS)",
            {"preset": "podcast"},
            [lame(clip, out, "-b:a", "128k", "-ar", "44100", "-ac", "2")],
            single_pass=cbr,
        ),
    ]


def newest_job(gateway: Gateway) -> dict[str, Any]:
    """The admin's most recent job (GET /jobs, newest first)."""
    listed = gateway.http.get("/jobs", params={"limit": 1}, headers=gateway.auth())
    job: dict[str, Any] = listed.raise_for_status().json()["jobs"][0]
    return job


def run_case(bench: Bench, clip: Path, case: Case, round_number: int) -> None:
    """One platform job with the case's fields, then its bare ffmpeg command(s)."""
    _, _, platform_cpu = one_job(bench, clip, case.fields)
    job = newest_job(bench.gateway)
    missing = set(case.fields) - set(job.get("options") or {})
    if missing:
        raise RuntimeError(f"{case.label}: the job's options lack {sorted(missing)}: {job}")
    bare = bare_commands(case.bare, bench.args.job_timeout)
    case.row.platform.append(platform_cpu)
    case.row.baseline.append(bare.cpu_seconds)
    loudness = job.get("loudness")
    mode = f", loudness {loudness['mode']}" if loudness else ""
    log(
        f"round {round_number} {case.label}: platform {platform_cpu:.2f} CPU s{mode}; "
        f"bare ffmpeg {bare.cpu_seconds:.2f} CPU s"
    )


def goal_lines(all_cases: list[Case]) -> list[str]:
    """The goals and whether each row meets them (by its median ratio)."""
    by_label = {case.label: case for case in all_cases}

    def verdict(case: Case, goal: float) -> str:
        ratios = [p / b for p, b in zip(case.row.platform, case.row.baseline, strict=True)]
        # Judged on the number shown (three decimals), so the two always agree.
        shown = round(statistics.median(ratios), 3)
        return f"{case.label} {shown:.3f}{TIMES} {'met' if shown <= goal else 'MISSED'}"

    single = [verdict(c, SINGLE_PASS_GOAL) for c in all_cases if c.single_pass is None]
    two = [verdict(c, LOUDNESS_GOAL) for c in all_cases if c.single_pass is not None]
    lines = [
        f"Goal: single-pass options ≤ {SINGLE_PASS_GOAL:.2f}{TIMES} bare ffmpeg: "
        + "; ".join(single),
        f"Goal: loudness ≤ {LOUDNESS_GOAL:.2f}{TIMES} of single-pass (the bare single-pass "
        "encode): " + "; ".join(two),
    ]
    for case in all_cases:
        if case.single_pass is None:
            continue
        base = by_label[case.single_pass].row.platform
        ratios = [p / b for p, b in zip(case.row.platform, base, strict=True)]
        lines.append(
            f"Platform {case.label} ÷ platform {case.single_pass} (same round): "
            f"{spread(ratios, TIMES)}"
        )
    return lines


def parse_args() -> argparse.Namespace:
    """The options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every case (median)")
    parser.add_argument("--seconds", type=int, default=600, help="length of the clip")
    parser.add_argument("--job-timeout", type=float, default=1800.0, help="seconds per job")
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds < 10:
        parser.error("--rounds must be at least 1 and --seconds at least 10")
    return args


def main() -> None:
    """Generate the clip, start the platform, run every case every round, print the table."""
    args = parse_args()
    print(f"date: {datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"ffmpeg: {ffmpeg_version()}")
    print(f"os.cpu_count(): {os.cpu_count()}")
    print(f"command: {shlex.join(sys.orig_argv)}")
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="bench-options-") as tmp_name:
        tmp = Path(tmp_name)
        log(f"generating a {args.seconds} s clip")
        started = time.perf_counter()
        clip = make_video(
            tmp / "clip.mp4", args.seconds, CLIP_SIZE, GENERATE_TIMEOUT_SECONDS, fps=CLIP_FPS
        )
        generated = time.perf_counter() - started
        print(
            f"media: {args.seconds} s clip, {clip.stat().st_size / MB:.1f} MB, generated in "
            f"{generated:.1f} s: audio pink noise (independent per channel) + 440 Hz + 660 Hz, "
            f"stereo AAC 160 kb/s 44.1 kHz; video testsrc2 {CLIP_SIZE} {CLIP_FPS} fps H.264"
        )
        sys.stdout.flush()
        all_cases = cases(clip, tmp, args.seconds)
        (tmp / "platform").mkdir()
        with role_output_on_error(tmp), platform(tmp / "platform") as roles:
            log("platform ready")
            gateway = Gateway(f"http://127.0.0.1:{roles.ports['gateway']}", args.job_timeout)
            try:
                # one_job reads only the args, roles and gateway of a Bench, not its media.
                media = Media(clip, [], clip, clip, generated)
                bench = Bench(args, roles, gateway, media, tmp, [])
                for round_number in range(1, args.rounds + 1):
                    for case in all_cases:
                        run_case(bench, clip, case, round_number)
            finally:
                gateway.close()
        report_role_warnings(tmp)
        commands = [
            f"  {case.label}: "
            + " && ".join(shlex.join(cmd).replace(f"{tmp}/", "") for cmd in case.bare)
            for case in all_cases
        ]
    rounds = f"{args.rounds} round{'s' if args.rounds > 1 else ''}"
    print()
    print(text_table([case.row for case in all_cases], HEADER))
    print()
    print("\n".join(goal_lines(all_cases)))
    print()
    print(
        f"Cells: median [min{DASH}max] of {rounds}; each round runs every case, platform then "
        "bare ffmpeg. Platform: user + system + reaped children's CPU of the converter role's "
        "process (psutil), delta around one upload until its job is done and its children "
        "reaped (GridFS fetch, ffprobe, every ffmpeg pass, GridFS store). Bare ffmpeg: "
        "RUSAGE_CHILDREN delta around the command line(s) below. Ratio: platform ÷ bare of each "
        f"round, median [min{DASH}max]; lower is better."
    )
    print("Bare ffmpeg command lines:")
    print("\n".join(commands))


if __name__ == "__main__":
    main()
