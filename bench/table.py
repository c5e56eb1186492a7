"""One table of the platform against its baselines, every row measured side by side in one run.

Generates realistic media (pink noise and tones in stereo AAC, testsrc2 video) once, starts
SecantusDB and the five roles as processes (bench/harness.py), and for each row alternates a
platform measurement with its baseline (platform, baseline, platform, baseline, ...) --runs times:

1. burst throughput: --burst 30 s clips uploaded at once, until all are done, vs bare ffmpeg on
   the same files with os.cpu_count() processes at once (like `xargs -P`);
2. upload-to-done of one --long-seconds 1280x720 file vs bare ffmpeg on it;
3. converter CPU per job (that long file, and a 30 s clip) vs bare ffmpeg's CPU;
4. upload and download MB/s through the gateway vs GridFSStore write and read from this process;
5. peak RSS growth of every role while a --big-mb MiB upload goes through.

Prints the header (date, ffmpeg, CPUs, command), the table, its footnotes, and the same as Markdown.
Progress goes to stderr. Run: `.venv/bin/python bench/table.py` (`make bench`); a quick smoke run:
`.venv/bin/python bench/table.py --burst 4 --long-seconds 60 --transfer-mb 20 --big-mb 64 --runs 1`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

from gateway_client import Gateway
from gridfs_direct import drop_raw, raw_delete, raw_read, raw_write, seed_done_job
from harness import ADMIN_EMAIL, platform
from media import CONVERTER_FFMPEG, bare_ffmpeg, bare_pool, copies, fast_start, make_video
from mp3converter.devstack.processes import RoleProcesses
from mp3converter.roles import ROLES
from upload_memory import SAMPLE_SECONDS, MultipartBody, Sampler, random_blocks

MB = 1_000_000
MIB = 1 << 20
CLIP_SECONDS = 30
CLIP_SIZE = "640x360"
LONG_SIZE = "1280x720"
FLAT_MIB = 64
DEFAULT_JOBS_IN_FLIGHT = 10  # MAX_JOBS_IN_FLIGHT_PER_USER
# After a job is done: its ffmpeg children reaped, then this long for the converter to finish
# (deleting the source video) before anything else is measured.
SETTLE_SECONDS = 0.3
GENERATE_TIMEOUT_SECONDS = 3600.0
# Typography of the printed table (escaped: ruff refuses look-alike characters in source).
DASH, TIMES, MINUS = "\u2013", "\u00d7", "\u2212"


def log(message: str) -> None:
    """Progress, on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def num(value: float) -> str:
    """A number with about three significant digits."""
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def spread(values: list[float], unit: str = "") -> str:
    """median [min-max]."""
    return f"{num(statistics.median(values))}{unit} [{num(min(values))}{DASH}{num(max(values))}]"


@dataclass
class Row:
    """One line of the table: platform values and baseline values, one per run, paired."""

    label: str
    platform: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    # A row without a baseline shows this in the ratio column instead.
    verdict: str = ""

    def cells(self) -> list[str]:
        """label, platform, baseline, ratio."""
        platform_cell = spread(self.platform)
        if not self.baseline:
            return [self.label, platform_cell, "—", self.verdict]
        ratios = [p / b for p, b in zip(self.platform, self.baseline, strict=True)]
        return [self.label, platform_cell, spread(self.baseline), spread(ratios, TIMES)]


@dataclass(frozen=True)
class Media:
    """The generated files."""

    clip: Path
    burst: list[Path]
    long: Path
    long_fast_start: Path
    seconds: float


def generate(directory: Path, burst: int, long_seconds: int) -> Media:
    """The 30 s clip, its burst copies and the long file; timed."""
    directory.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    clip = make_video(directory / "clip.mp4", CLIP_SECONDS, CLIP_SIZE, GENERATE_TIMEOUT_SECONDS)
    burst_files = copies(clip, directory / "burst", burst, GENERATE_TIMEOUT_SECONDS)
    long = make_video(directory / "long.mp4", long_seconds, LONG_SIZE, GENERATE_TIMEOUT_SECONDS)
    fast = fast_start(long, directory / "long-faststart.mp4", GENERATE_TIMEOUT_SECONDS)
    return Media(clip, burst_files, long, fast, time.perf_counter() - start)


@dataclass
class Bench:
    """What every row measures with: the running platform, a client, the media, the options."""

    args: argparse.Namespace
    roles: RoleProcesses
    gateway: Gateway
    media: Media
    tmp: Path
    blocks: list[bytes]

    @property
    def converter(self) -> psutil.Process:
        """The converter role's process."""
        return psutil.Process(self.roles.processes["converter"].pid)

    @property
    def mongodb_url(self) -> str:
        """Where the platform's MongoDB (SecantusDB) listens."""
        return self.roles.env["MONGODB_URL"]

    def cpu_by_process(self) -> dict[str, float]:
        """CPU seconds so far of every role (with its reaped children) and of SecantusDB."""
        processes = {name: psutil.Process(p.pid) for name, p in self.roles.processes.items()}
        port = self.mongodb_url.split(":")[2].split("/")[0]
        for process in psutil.process_iter(["cmdline"]):
            cmdline = process.info["cmdline"] or []
            if any("secantusd" in part for part in cmdline) and port in cmdline:
                processes["secantusdb"] = process
        seconds = {}
        for name, process in processes.items():
            cpu = process.cpu_times()
            seconds[name] = cpu.user + cpu.system + cpu.children_user + cpu.children_system
        return seconds

    def converter_cpu(self) -> float:
        """CPU seconds of the converter and its reaped children so far."""
        cpu = self.converter.cpu_times()
        return cpu.user + cpu.system + cpu.children_user + cpu.children_system

    def settle(self) -> None:
        """Wait until the converter has no child left (reaped), then SETTLE_SECONDS more."""
        deadline = time.monotonic() + 30
        while self.converter.children() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.converter.children():
            raise RuntimeError(f"converter children not reaped: {self.converter.children()}")
        time.sleep(SETTLE_SECONDS)
        exited = self.roles.exited()
        if exited:
            raise RuntimeError(f"roles exited: {exited}")


def burst_row(bench: Bench) -> Row:
    """Row 1: jobs/min of a burst through the platform vs bare ffmpeg in a pool of cpu_count."""
    files = bench.media.burst
    workers = os.cpu_count() or 1
    row = Row(f"1. burst of {len(files)} {TIMES} {CLIP_SECONDS} s clips, jobs/min")
    for run in range(bench.args.runs):
        bench.gateway.fresh()
        cpu_before = bench.cpu_by_process()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(files)) as pool:
            job_ids = list(pool.map(bench.gateway.upload_file, files))
        uploaded = time.perf_counter() - start
        done = bench.gateway.wait_all_done(job_ids, bench.args.job_timeout)
        platform_seconds = done - start
        bench.settle()
        cpu_after = bench.cpu_by_process()
        spent = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
        log(
            "burst CPU seconds by process: "
            + ", ".join(f"{name} {value:.2f}" for name, value in sorted(spent.items()))
        )
        bare_seconds = bare_pool(files, bench.tmp / "bare-burst", workers, bench.args.job_timeout)
        row.platform.append(len(files) / platform_seconds * 60)
        row.baseline.append(len(files) / bare_seconds * 60)
        log(
            f"burst run {run + 1}: platform {platform_seconds:.2f} s (all uploaded after "
            f"{uploaded:.2f} s), bare ffmpeg -P{workers} {bare_seconds:.2f} s"
        )
    return row


def one_job(
    bench: Bench, path: Path, fields: Mapping[str, str] | None = None
) -> tuple[float, float, float]:
    """Upload one file (with form fields: conversion options) and wait until done: (seconds to
    done, seconds to the 202, CPU seconds)."""
    bench.gateway.fresh()
    cpu_before = bench.converter_cpu()
    start = time.perf_counter()
    job_id = bench.gateway.upload_file(path, fields)
    uploaded = time.perf_counter() - start
    bench.gateway.wait_done(job_id, bench.args.job_timeout)
    done = time.perf_counter() - start
    bench.settle()
    return done, uploaded, bench.converter_cpu() - cpu_before


def long_rows(bench: Bench) -> tuple[Row, Row, list[float]]:
    """Rows 2 and 3a from the same jobs: upload-to-done and converter CPU of the long file."""
    seconds = bench.args.long_seconds
    latency = Row(f"2. upload-to-done, one {seconds} s {LONG_SIZE} file, s")
    cpu = Row(f"3a. converter CPU per job, {seconds} s {LONG_SIZE} file, CPU s")
    uploads = []
    for run in range(bench.args.runs):
        done, uploaded, cpu_seconds = one_job(bench, bench.media.long)
        bare = bare_ffmpeg(bench.media.long, bench.tmp / "bare-long.mp3", bench.args.job_timeout)
        latency.platform.append(done)
        latency.baseline.append(bare.seconds)
        cpu.platform.append(cpu_seconds)
        cpu.baseline.append(bare.cpu_seconds)
        uploads.append(uploaded)
        log(
            f"long run {run + 1}: platform {done:.2f} s (202 after {uploaded:.2f} s), "
            f"{cpu_seconds:.2f} CPU s; bare ffmpeg {bare.seconds:.2f} s, {bare.cpu_seconds:.2f} CPU s"
        )
    return latency, cpu, uploads


def fast_start_row(bench: Bench) -> Row:
    """Row 2b: upload-to-done of the same long file with its index first (read as it arrives)."""
    seconds = bench.args.long_seconds
    row = Row("2b. upload-to-done, the same file with moov first (fast start), s")
    for run in range(bench.args.runs):
        done, uploaded, _ = one_job(bench, bench.media.long_fast_start)
        bare = bare_ffmpeg(
            bench.media.long_fast_start, bench.tmp / "bare-fast.mp3", bench.args.job_timeout
        )
        row.platform.append(done)
        row.baseline.append(bare.seconds)
        log(
            f"fast-start run {run + 1}: platform {done:.2f} s (202 after {uploaded:.2f} s); "
            f"bare ffmpeg {bare.seconds:.2f} s ({seconds} s file)"
        )
    return row


def database_row(roles: RoleProcesses) -> Row:
    """Row 6: SecantusDB's RSS once everything above has run (context for its memory)."""
    port = roles.env["MONGODB_URL"].split(":")[2].split("/")[0]
    row = Row("6. SecantusDB RSS after the run, MiB")
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any("secantusd" in part for part in cmdline) and port in cmdline:
            row.platform.append(process.memory_info().rss / MIB)
    return row


def clip_cpu_row(bench: Bench) -> Row:
    """Row 3b: converter CPU of one 30 s clip job vs bare ffmpeg's."""
    row = Row(f"3b. converter CPU per job, {CLIP_SECONDS} s {CLIP_SIZE} clip, CPU s")
    for run in range(bench.args.runs):
        _, _, cpu_seconds = one_job(bench, bench.media.clip)
        bare = bare_ffmpeg(bench.media.clip, bench.tmp / "bare-clip.mp3", bench.args.job_timeout)
        row.platform.append(cpu_seconds)
        row.baseline.append(bare.cpu_seconds)
        log(
            f"clip CPU run {run + 1}: converter {cpu_seconds:.3f} CPU s, "
            f"bare ffmpeg {bare.cpu_seconds:.3f} CPU s"
        )
    return row


def transfer_rows(bench: Bench) -> tuple[Row, Row]:
    """Rows 4a and 4b: MB/s up and down through the gateway vs raw GridFS from this process."""
    size = bench.args.transfer_mb * MB
    up = Row(f"4a. upload via gateway, {bench.args.transfer_mb} MB, MB/s")
    down = Row(f"4b. download via gateway, {bench.args.transfer_mb} MB, MB/s")
    url = bench.mongodb_url
    database = bench.roles.env.get("MONGODB_DB", "mp3converter")
    owner_id = bench.gateway.user_id()
    seeded = asyncio.run(seed_done_job(url, database, owner_id, ADMIN_EMAIL, size, bench.blocks))
    try:
        for run in range(bench.args.runs):
            body = MultipartBody(size, bench.blocks)
            bench.gateway.fresh()
            start = time.perf_counter()
            job_id = bench.gateway.upload_body(body)
            up_seconds = time.perf_counter() - start
            failed = bench.gateway.wait_final(job_id, bench.args.job_timeout)
            failed_after = time.perf_counter() - start - up_seconds
            bench.settle()
            written = asyncio.run(raw_write(url, size, bench.blocks))
            bench.gateway.fresh()
            start = time.perf_counter()
            received = bench.gateway.download(seeded)
            down_seconds = time.perf_counter() - start
            if received != size:
                raise RuntimeError(f"download gave {received} bytes, not {size}")
            read = asyncio.run(raw_read(url, written.file_id))
            asyncio.run(raw_delete(url, written.file_id))
            up.platform.append(size / MB / up_seconds)
            up.baseline.append(size / MB / written.seconds)
            down.platform.append(size / MB / down_seconds)
            down.baseline.append(size / MB / read.seconds)
            log(
                f"transfer run {run + 1}: upload {up_seconds:.2f} s (job {failed['status']} "
                f"{failed_after:.2f} s after its 202: "
                f"{(failed.get('error') or {}).get('code')}), raw write {written.seconds:.2f} s; "
                f"download {down_seconds:.2f} s, raw read {read.seconds:.2f} s"
            )
    finally:
        asyncio.run(drop_raw(url))
    return up, down


def progress_of(body: MultipartBody) -> Callable[[], int]:
    """How many bytes of the body were sent so far."""
    return lambda: body.sent


def rss_rows(bench: Bench) -> list[Row]:
    """Rows 5: peak - start RSS of every role while a big upload goes through, and its job ends."""
    size = bench.args.big_mb * MIB
    rows = {role: Row(f"5. RSS peak {MINUS} start, {role}, MiB") for role in ROLES}
    for run in range(bench.args.runs):
        body = MultipartBody(size, bench.blocks)
        watched = {role: psutil.Process(p.pid) for role, p in bench.roles.processes.items()}
        sampler = Sampler(watched, progress_of(body))
        bench.gateway.fresh()
        before = sampler.sample()
        start = time.perf_counter()
        with sampler.running():
            job_id = bench.gateway.upload_body(body)
            uploaded = time.perf_counter() - start
            job = bench.gateway.wait_final(job_id, bench.args.job_timeout)
            final_after = time.perf_counter() - start - uploaded
        bench.settle()
        samples = [*sampler.samples, sampler.sample()]
        profile = []
        for role, row in rows.items():
            peak = max(s.rss[role] for s in samples)
            row.platform.append((peak - before.rss[role]) / MIB)
            profile.append(f"{role} {before.rss[role] / MIB:.1f}->{peak / MIB:.1f}")
        log(
            f"RSS run {run + 1}: {size / MIB:.0f} MiB uploaded in {uploaded:.2f} s "
            f"({size / MB / uploaded:.1f} MB/s), job {job['status']} {final_after:.2f} s after its "
            f"202; {len(samples)} samples; "
            f"start->peak MiB: {', '.join(profile)}"
        )
    for row in rows.values():
        row.verdict = (
            f"flat (< {FLAT_MIB} MiB)"
            if max(row.platform) < FLAT_MIB
            else f"GREW (≥ {FLAT_MIB} MiB)"
        )
    return list(rows.values())


def ffmpeg_version() -> str:
    """The converter's ffmpeg (the platform's and the bare runs'): its path and version line."""
    out = subprocess.run(
        [CONVERTER_FFMPEG, "-version"], check=True, capture_output=True, text=True, timeout=30
    )
    return f"{CONVERTER_FFMPEG}: {out.stdout.splitlines()[0]}"


def parse_args() -> argparse.Namespace:
    """The options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="paired runs per row (median of them)")
    parser.add_argument("--burst", type=int, default=20, help="jobs in the burst (row 1)")
    parser.add_argument(
        "--long-seconds", type=int, default=600, help="length of the 1280x720 file (rows 2, 3a)"
    )
    parser.add_argument(
        "--transfer-mb", type=int, default=200, help="MB (10^6 bytes) up and down (row 4)"
    )
    parser.add_argument(
        "--big-mb", type=int, default=1024, help="MiB of the upload whose RSS is watched (row 5)"
    )
    parser.add_argument(
        "--converter-concurrency",
        type=int,
        default=None,
        help="set CONVERTER_CONCURRENCY for the converter (default: leave it unset)",
    )
    parser.add_argument(
        "--job-timeout", type=float, default=1800.0, help="seconds to wait for any job or burst"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.burst < 1 or args.long_seconds < 1:
        parser.error("--runs, --burst and --long-seconds must be at least 1")
    return args


def settings_for(args: argparse.Namespace, media: Media) -> dict[str, str]:
    """Settings the benchmark changes: no limit or quota may refuse what it sends."""
    largest = max(args.transfer_mb * MB, args.big_mb * MIB, media.long.stat().st_size)
    env = {
        "MAX_UPLOAD_BYTES": str(largest + 16 * MIB),
        "MAX_STORED_BYTES_PER_USER": str(1 << 40),
    }
    if args.burst > DEFAULT_JOBS_IN_FLIGHT:  # the burst comes from one user
        env["MAX_JOBS_IN_FLIGHT_PER_USER"] = str(args.burst)
    if args.converter_concurrency is not None:
        env["CONVERTER_CONCURRENCY"] = str(args.converter_concurrency)
    return env


def footnotes(args: argparse.Namespace, cpus: int, uploads: list[float]) -> list[str]:
    """What each row measures, its baseline, and which way its ratio is better."""
    runs = f"median [min{DASH}max] of {args.runs} run{'s' if args.runs > 1 else ''}"
    better = f"1.00{TIMES} ="
    return [
        f"Cells: {runs}; platform and baseline alternate within each row. Ratio: platform ÷ "
        f"baseline of each run (paired), median [min{DASH}max].",
        f"(1) jobs/min = {args.burst} ÷ (first upload start → last job seen done; all uploads "
        "sent at once, done polled every 0.1 s). Baseline: bare ffmpeg (the converter's LAME "
        f"command) on the same {args.burst} files, {cpus} processes at once (os.cpu_count(), "
        f"like xargs -P{cpus}). Ratio: higher is better; {better} bare ffmpeg's throughput.",
        "(2) POST /upload start → job seen done (polled every 0.05 s); the POST until its 202 "
        f"took {spread(uploads)} s of it. Baseline: bare ffmpeg's wall time on the same file. "
        f"Ratio: lower is better; {better} no overhead.",
        "(3) user + system + children's CPU of the converter role's process (psutil), delta "
        "around one job, read once the job is done, its children reaped and "
        f"{SETTLE_SECONDS} s more (GridFS fetch, one ffprobe, LAME, GridFS "
        "store, cleanup). 3a are the jobs of row 2. Baseline: RUSAGE_CHILDREN delta around "
        f"bare ffmpeg. Ratio: lower is better; {better} no overhead.",
        "(4) MB = 10^6 bytes. 4a: POST /upload of a generated non-media multipart body streamed "
        "from this process, until its 202 (the job then fails as not-media; waited for). "
        "Baseline: GridFSStore.save of the same bytes from this process into another database. "
        f"4b: GET /download (bearer) of a {args.transfer_mb} MB file seeded into the mp3s "
        "bucket with a done job, read to the end. Baseline: GridFSStore.read of the same bytes. "
        f"Ratio: higher is better; {better} as fast as raw GridFS.",
        f"(5) RSS of each role's own process (children not counted), sampled every "
        f"{SAMPLE_SECONDS} s from just before the POST /upload of a {args.big_mb} MiB non-media "
        "body until its job had failed (so the converter's fetch and probe are included), on "
        f"the platform warmed by rows 1{DASH}4; peak {MINUS} start. No baseline; flat = peak "
        f"{MINUS} start under {FLAT_MIB} MiB in every run, against {args.big_mb} MiB sent.",
    ]


def text_table(
    rows: list[Row], header: Sequence[str] = ("row", "platform", "baseline", "ratio")
) -> str:
    """The table, aligned in columns."""
    lines = [list(header), *[row.cells() for row in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    rule = "  ".join("-" * w for w in widths)
    out = ["  ".join(c.ljust(w) for c, w in zip(lines[0], widths, strict=True)), rule]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines[1:]]
    return "\n".join(line.rstrip() for line in out)


def markdown_table(rows: list[Row]) -> str:
    """The table in Markdown."""
    out = ["| row | platform | baseline | ratio |", "|---|---|---|---|"]
    out += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(out)


def report_role_warnings(tmp: Path) -> None:
    """On stderr: the roles' log lines at WARNING or above (LOG_LEVEL is WARNING), first few."""
    out = tmp / "platform" / "roles.out"
    if not out.exists():
        return
    lines = [line for line in out.read_text(errors="replace").splitlines() if line.strip()]
    log(f"roles logged {len(lines)} lines (LOG_LEVEL=WARNING)" + (":" if lines else ""))
    for line in lines[:20]:
        print(f"    {line[:300]}", file=sys.stderr)


@contextmanager
def role_output_on_error(tmp: Path) -> Iterator[None]:
    """If anything fails, show the end of the roles' output (it lives in the temp dir)."""
    try:
        yield
    except BaseException:
        out = tmp / "platform" / "roles.out"
        if out.exists():
            tail = out.read_text(errors="replace").splitlines()[-40:]
            print("--- last lines of the roles' output ---", *tail, sep="\n", file=sys.stderr)
        raise


def main() -> None:
    """Generate the media, start the platform, measure every row, print the table."""
    args = parse_args()
    cpus = os.cpu_count() or 1
    print(f"date: {datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"ffmpeg: {ffmpeg_version()}")
    print(f"os.cpu_count(): {cpus}")
    print(f"command: {shlex.join(sys.orig_argv)}")
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="bench-table-") as tmp_name:
        tmp = Path(tmp_name)
        log("generating media")
        media = generate(tmp / "media", args.burst, args.long_seconds)
        print(
            f"media: generated in {media.seconds:.1f} s: {CLIP_SECONDS} s {CLIP_SIZE} clip "
            f"{media.clip.stat().st_size / MB:.1f} MB (and {args.burst} remuxed copies), "
            f"{args.long_seconds} s {LONG_SIZE} file {media.long.stat().st_size / MB:.1f} MB; "
            "testsrc2 H.264 ultrafast, audio pink noise (independent per channel) + 440 Hz + "
            "660 Hz, stereo AAC 160 kb/s 44.1 kHz"
        )
        env = settings_for(args, media)
        concurrency = env.get("CONVERTER_CONCURRENCY", "unset (the converter's default)")
        print(
            "platform: SecantusDB, RabbitMQ, the 5 roles as processes on 127.0.0.1; "
            f"CONVERTER_CONCURRENCY {concurrency}; settings changed: "
            + " ".join(f"{k}={v}" for k, v in env.items())
        )
        sys.stdout.flush()
        (tmp / "platform").mkdir()
        with role_output_on_error(tmp), platform(tmp / "platform", None, env) as roles:
            log("platform ready")
            gateway = Gateway(f"http://127.0.0.1:{roles.ports['gateway']}", args.job_timeout)
            try:
                bench = Bench(args, roles, gateway, media, tmp, random_blocks())
                rows = [burst_row(bench)]
                latency, long_cpu, uploads = long_rows(bench)
                rows += [latency, fast_start_row(bench), long_cpu, clip_cpu_row(bench)]
                rows += [*transfer_rows(bench), *rss_rows(bench), database_row(roles)]
            finally:
                gateway.close()
        report_role_warnings(tmp)
    notes = footnotes(args, cpus, uploads)
    print()
    print(text_table(rows))
    print()
    print("\n".join(notes))
    print()
    print("Markdown:")
    print()
    print(markdown_table(rows))
    print()
    print("\n".join(f"- {note}" for note in notes))


if __name__ == "__main__":
    main()
