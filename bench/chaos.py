"""The chaos suite: break one part of the real stack at a time, under load, and count what is lost.

Starts a private SecantusDB, a real SMTP server (aiosmtpd), the five roles as processes with the
converter's scratch directory on a 64 MiB tmpfs, on the machine's RabbitMQ under queue names of
its own (bench/chaos_stack.py). Each scenario runs --runs times (CHAOS_RUNS, default 3):

1. the converter SIGKILLed while it converts, then started again: every job done, exactly one MP3
   per job, no orphan GridFS chunks; figure: seconds from the restarted converter being ready to
   all jobs done;
2. RabbitMQ restarted (`rabbitmqctl stop_app`/`start_app`) under a --burst of small clips: no job
   lost, one email per job; figures: seconds from the broker back to the first job done after it,
   and to all done;
3. SecantusDB restarted (SIGTERM, start on the same data) under load: every job final (done, or
   failed with a code and a reason), none stuck; figure: seconds from the database back to all final;
4. the converter's scratch tmpfs filled to the last byte: the job fails (or retries) with a reason,
   the converter survives and converts the next job once the space is back; figure: seconds to the
   clean failure;
5. an SMTP server that waits --smtp-delay seconds on MAIL, RCPT and DATA: jobs still finish at
   full speed, every email arrives once; figure: seconds from the last job done to its email.

Prints the table in Markdown and writes it to --output (.data/chaos.md). Progress goes to stderr.
Run: `make chaos`, or `.venv/bin/python bench/chaos.py --runs 1 --only 1,4`; CHAOS_TMP=DIR keeps
the media, the roles' logs and the database in DIR for a look afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from chaos_stack import Stack, broker_down, fill, log, running_stack
from gateway_client import Gateway
from media import copies, make_video

DASH = "\u2013"
FINAL = ("done", "failed")
GENERATE_TIMEOUT = 600.0


@dataclass(frozen=True)
class Media:
    """The clips every scenario uploads."""

    long: Path  # long enough to be caught converting
    burst: list[Path]  # small, distinct files
    medium: Path


@dataclass
class Outcome:
    """One run of one scenario."""

    passed: bool
    lost: int = 0
    duplicates: int = 0
    orphans: int = 0
    figure: float | None = None
    second: float | None = None
    notes: list[str] = field(default_factory=list)


class Watcher:
    """Polls GET /jobs on a thread and notes when each job was first seen final (monotonic time);
    errors while a service is down are counted, not raised."""

    def __init__(self, gateway: Gateway, period: float = 0.25) -> None:
        self.gateway = gateway
        self.period = period
        self.final_at: dict[str, float] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                response = self.gateway.http.get(
                    "/jobs", params={"limit": 200}, headers=self.gateway.auth()
                )
                listed = response.raise_for_status().json()["jobs"]
            except (httpx.HTTPError, RuntimeError, KeyError, ValueError):
                self.errors += 1
                continue
            now = time.monotonic()
            for job in listed:
                self.jobs[job["job_id"]] = job
                if job["status"] in FINAL:
                    self.final_at.setdefault(job["job_id"], now)

    def wait_final(self, job_ids: Iterable[str], timeout: float) -> bool:
        """Whether every job was seen final within timeout."""
        wanted = set(job_ids)
        deadline = time.monotonic() + timeout
        while not wanted <= self.final_at.keys():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def count_final(self, job_ids: Iterable[str], status: str = "done") -> int:
        """How many of the jobs were seen in `status`."""
        return sum(self.jobs.get(j, {}).get("status") == status for j in job_ids)

    def wait_count(self, job_ids: list[str], count: int, timeout: float) -> None:
        """Wait until `count` of the jobs are final."""
        deadline = time.monotonic() + timeout
        while sum(j in self.final_at for j in job_ids) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} jobs final after {timeout:.0f} s")
            time.sleep(0.05)


@dataclass
class Audit:
    """What the database says about a run's jobs."""

    statuses: dict[str, str]
    errors: dict[str, dict[str, Any]]
    mp3s_per_job: dict[str, int]
    orphans: int

    def not_final(self) -> list[str]:
        """Jobs neither done nor failed."""
        return [j for j, s in self.statuses.items() if s not in FINAL]

    def duplicates(self) -> int:
        """MP3s stored beyond one per job."""
        return sum(max(0, n - 1) for n in self.mp3s_per_job.values())

    def done_without_one_mp3(self) -> list[str]:
        """Done jobs that do not have exactly one MP3."""
        return [
            j for j, s in self.statuses.items() if s == "done" and self.mp3s_per_job.get(j) != 1
        ]

    def unclean_failures(self) -> list[str]:
        """Failed jobs without a code and a reason."""
        return [
            j
            for j, s in self.statuses.items()
            if s == "failed"
            and not (self.errors.get(j, {}).get("code") and self.errors[j].get("reason"))
        ]


def audit(stack: Stack, job_ids: list[str]) -> Audit:
    """Read the jobs, MP3s and GridFS chunks straight from the database."""
    with stack.mongo() as client:
        db = client[stack.db_name]
        docs = {d["_id"]: d for d in db.jobs.find({"_id": {"$in": job_ids}})}
        statuses = {j: str(docs.get(j, {}).get("status", "missing")) for j in job_ids}
        errors = {j: dict(docs[j].get("error") or {}) for j in job_ids if j in docs}
        counts = {j: 0 for j in job_ids}
        for doc in db["mp3s.files"].find({"metadata.job_id": {"$in": job_ids}}, {"metadata": 1}):
            counts[doc["metadata"]["job_id"]] += 1
        orphans: dict[str, int] = {}
        for bucket in ("videos", "mp3s"):
            ids = set(db[f"{bucket}.chunks"].distinct("files_id"))
            present = {d["_id"] for d in db[f"{bucket}.files"].find({"_id": {"$in": list(ids)}})}
            for files_id in ids - present:
                if f"{bucket}/{files_id}" in stack.seen_orphans:
                    continue
                count = db[f"{bucket}.chunks"].count_documents({"files_id": files_id})
                orphans[f"{bucket}/{files_id}"] = count
    stack.seen_orphans.update(orphans)
    if orphans:
        log(f"orphan chunks: {orphans}")
    return Audit(statuses, errors, counts, sum(orphans.values()))


def upload_all(gateway: Gateway, files: list[Path], workers: int = 8) -> list[str]:
    """Upload the files concurrently; their job ids."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(gateway.upload_file, files))


def judge(
    result: Audit, job_ids: list[str], *, failures_allowed: bool = False, orphans_fail: bool = True
) -> Outcome:
    """The common verdict: nothing stuck or missing, one MP3 per done job, no orphan chunks."""
    outcome = Outcome(passed=True, orphans=result.orphans, duplicates=result.duplicates())
    stuck = result.not_final()
    failed = [j for j, s in result.statuses.items() if s == "failed"]
    outcome.lost = len(stuck) + (0 if failures_allowed else len(failed))
    if stuck:
        outcome.notes.append(
            f"{len(stuck)} not final: {sorted(set(result.statuses[j] for j in stuck))}"
        )
    if failed:
        codes = sorted({str(result.errors.get(j, {}).get("code")) for j in failed})
        outcome.notes.append(f"{len(failed)} failed ({', '.join(codes)})")
    unclean = result.unclean_failures()
    wrong = result.done_without_one_mp3()
    if wrong:
        outcome.notes.append(f"{len(wrong)} done jobs without exactly one MP3")
    if unclean:
        outcome.notes.append(f"{len(unclean)} failed without code and reason")
    outcome.passed = not (outcome.lost or wrong or unclean or (orphans_fail and result.orphans))
    return outcome


@dataclass
class Suite:
    """The running stack, a client, the media and the options."""

    args: argparse.Namespace
    stack: Stack
    gateway: Gateway
    media: Media
    all_jobs: list[str] = field(default_factory=list)

    def check_roles(self, outcome: Outcome) -> None:
        """A role that exited is a failure of the run; it is started again for the next."""
        exited = self.stack.roles.exited()
        if exited:
            outcome.passed = False
            outcome.notes.append(f"roles exited: {exited}")
            self.stack.roles.start(list(exited))
            self.stack.roles.wait_ready(60)

    def emails_settled(self, timeout: float) -> bool:
        """Wait until every job so far has its email (the notification queue is drained)."""
        deadline = time.monotonic() + timeout
        while any(not self.stack.mailbox.mentioning(j) for j in self.all_jobs):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True


def converter_killed(suite: Suite) -> Outcome:
    """Scenario 1."""
    stack, files = suite.stack, [suite.media.long] * suite.args.kill_jobs
    with Watcher(suite.gateway) as watcher:
        job_ids = upload_all(suite.gateway, files)
        suite.all_jobs += job_ids
        deadline = time.monotonic() + 60
        while not any(
            watcher.jobs.get(j, {}).get("status") == "converting"
            and (watcher.jobs[j].get("progress") or 0) >= 0.1
            for j in job_ids
        ):
            if time.monotonic() > deadline:
                return Outcome(False, notes=["no job seen converting within 60 s"])
            time.sleep(0.05)
        converting = sum(watcher.jobs.get(j, {}).get("status") == "converting" for j in job_ids)
        stack.kill_converter()
        stack.start_converter()
        ready = time.monotonic()
        finished = watcher.wait_final(job_ids, suite.args.job_timeout)
    outcome = judge(audit(stack, job_ids), job_ids)
    outcome.notes.insert(0, f"killed with {converting} converting")
    leftovers = stack.scratch_leftovers()
    if leftovers:  # the killed converter's copies of the videos
        outcome.passed = False
        outcome.notes.append(f"{len(leftovers)} scratch dirs left")
    if finished:
        outcome.figure = max(watcher.final_at[j] for j in job_ids) - ready
    else:
        outcome.passed = False
    return outcome


def broker_restarted(suite: Suite) -> Outcome:
    """Scenario 2."""
    stack = suite.stack
    with Watcher(suite.gateway) as watcher:
        job_ids = upload_all(suite.gateway, suite.media.burst)
        suite.all_jobs += job_ids
        watcher.wait_count(job_ids, max(1, len(job_ids) // 10), suite.args.job_timeout)
        before = sum(j in watcher.final_at for j in job_ids)
        with broker_down():
            time.sleep(suite.args.outage_seconds)
        back = time.monotonic()
        finished = watcher.wait_final(job_ids, suite.args.job_timeout)
    outcome = judge(audit(stack, job_ids), job_ids)
    outcome.notes.insert(0, f"restart after {before}/{len(job_ids)} final")
    after = [t - back for j, t in watcher.final_at.items() if j in job_ids and t >= back]
    if finished and after:
        outcome.figure, outcome.second = min(after), max(after)
    elif finished:
        outcome.notes.append("all jobs were final before the broker came back")
    else:
        outcome.passed = False
    if not suite.emails_settled(suite.args.job_timeout):
        missing = [j for j in job_ids if not stack.mailbox.mentioning(j)]
        outcome.passed = False
        outcome.notes.append(f"{len(missing)} emails missing")
    doubled = [j for j in job_ids if len(stack.mailbox.mentioning(j)) > 1]
    if doubled:
        outcome.notes.append(f"{len(doubled)} jobs emailed twice")
    return outcome


def database_restarted(suite: Suite) -> Outcome:
    """Scenario 3."""
    stack = suite.stack
    files = [suite.media.medium] * suite.args.db_jobs
    with Watcher(suite.gateway) as watcher:
        job_ids = upload_all(suite.gateway, files)
        suite.all_jobs += job_ids
        watcher.wait_count(job_ids, 1, suite.args.job_timeout)
        before = sum(j in watcher.final_at for j in job_ids)
        stack.db.stop()
        try:
            time.sleep(suite.args.outage_seconds)
        finally:
            stack.db.start()
        back = time.monotonic()
        finished = watcher.wait_final(job_ids, suite.args.job_timeout)
    # A source video whose deletion the outage cut short (files document gone, chunks not) is
    # logged and left to the sweeper (ORPHAN_GRACE_SECONDS): counted here, not a failure.
    outcome = judge(audit(stack, job_ids), job_ids, failures_allowed=True, orphans_fail=False)
    outcome.notes.insert(0, f"restart after {before}/{len(job_ids)} final")
    if outcome.orphans:
        outcome.notes.append("orphans: source videos whose deletion the outage cut short")
    if finished:
        outcome.figure = max(watcher.final_at[j] for j in job_ids) - back
    else:
        outcome.passed = False
    return outcome


def disk_full(suite: Suite) -> Outcome:
    """Scenario 4."""
    stack = suite.stack
    if not stack.scratch_is_tmpfs:
        return Outcome(False, notes=["skipped: mounting a tmpfs needs root"])
    pid = stack.roles.processes["converter"].pid
    ballast = fill(stack.scratch)
    try:
        start = time.monotonic()
        (first,) = upload_all(suite.gateway, [suite.media.medium])
        suite.all_jobs.append(first)
        with Watcher(suite.gateway) as watcher:
            finished = watcher.wait_final([first], suite.args.job_timeout)
        took = time.monotonic() - start
    finally:
        ballast.unlink()
    (second,) = upload_all(suite.gateway, [suite.media.medium])
    suite.all_jobs.append(second)
    with Watcher(suite.gateway) as watcher:
        watcher.wait_final([second], suite.args.job_timeout)
    result = audit(stack, [first, second])
    outcome = judge(result, [first, second], failures_allowed=True)
    outcome.notes = [n for n in outcome.notes if " failed (" not in n]  # told just below
    error = result.errors.get(first, {})
    outcome.notes.insert(
        0,
        f"full: {result.statuses[first]} {error.get('code', '')}: {error.get('reason', '')}".strip(),
    )
    outcome.figure = took if finished else None
    if result.statuses[second] != "done":
        outcome.passed = False
        outcome.notes.append(f"next job {result.statuses[second]}")
    if stack.roles.processes["converter"].pid != pid or stack.roles.exited():
        outcome.passed = False
        outcome.notes.append("converter did not survive")
    leftovers = stack.scratch_leftovers()
    if leftovers:
        outcome.passed = False
        outcome.notes.append(f"{len(leftovers)} scratch dirs left")
    return outcome


def slow_smtp(suite: Suite) -> Outcome:
    """Scenario 5."""
    stack = suite.stack
    if not suite.emails_settled(suite.args.job_timeout):
        return Outcome(False, notes=["earlier emails never arrived"])
    stack.mailbox.delay = suite.args.smtp_delay
    try:
        with Watcher(suite.gateway) as watcher:
            start = time.monotonic()
            job_ids = upload_all(suite.gateway, [suite.media.medium] * suite.args.smtp_jobs)
            suite.all_jobs += job_ids
            finished = watcher.wait_final(job_ids, suite.args.job_timeout)
        last_done = max(watcher.final_at.get(j, time.monotonic()) for j in job_ids)
        emails_before = sum(bool(stack.mailbox.mentioning(j)) for j in job_ids)
        settled = suite.emails_settled(suite.args.smtp_jobs * suite.args.smtp_delay * 6 + 60)
    finally:
        stack.mailbox.delay = 0.0
    outcome = judge(audit(stack, job_ids), job_ids)
    outcome.notes.insert(
        0,
        f"{len(job_ids)} jobs done {last_done - start:.1f} s after upload, "
        f"{emails_before} emailed by then",
    )
    arrivals = [t for j in job_ids for t in stack.mailbox.mentioning(j)]
    if finished and settled:
        outcome.figure = max(arrivals) - last_done
    else:
        outcome.passed = False
        outcome.notes.append("jobs not final" if not finished else "emails missing")
    if len(arrivals) != len(job_ids):
        outcome.passed = False
        outcome.notes.append(f"{len(arrivals)} emails for {len(job_ids)} jobs")
    return outcome


@dataclass(frozen=True)
class Scenario:
    """One row of the table."""

    key: str
    title: str
    run: Callable[[Suite], Outcome]
    figure: str
    second: str = ""


SCENARIOS = [
    Scenario(
        "1", "converter SIGKILLed mid-job, restarted", converter_killed, "restart to all done"
    ),
    Scenario(
        "2",
        "RabbitMQ restarted under a burst",
        broker_restarted,
        "broker back to first done",
        "to all done",
    ),
    Scenario("3", "SecantusDB restarted under load", database_restarted, "DB back to all final"),
    Scenario("4", "converter's scratch disk full", disk_full, "to the clean failure"),
    Scenario("5", "slow SMTP server", slow_smtp, "last job done to its email"),
]


def spread(values: list[float]) -> str:
    """median [min-max] in seconds, or a dash."""
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.1f} s"
    return f"{statistics.median(values):.1f} s [{min(values):.1f}{DASH}{max(values):.1f}]"


def row(scenario: Scenario, outcomes: list[Outcome], args: argparse.Namespace) -> list[str]:
    """The table cells of one scenario."""
    title = scenario.title
    if scenario.key == "2":
        title += f" of {args.burst} clips"
    elif scenario.key == "5":
        title += f" ({args.smtp_delay:g} s per command)"
    figure = f"{scenario.figure}: {spread([o.figure for o in outcomes if o.figure is not None])}"
    seconds = [o.second for o in outcomes if o.second is not None]
    if scenario.second:
        figure += f"; {scenario.second}: {spread(seconds)}"
    said = [", ".join(o.notes) for o in outcomes]
    if len(said) > 1 and len(set(said)) == 1:
        notes = f"every run: {said[0]}" if said[0] else ""
    else:
        notes = "; ".join(f"run {i + 1}: {text}" for i, text in enumerate(said) if text)
    return [
        f"{scenario.key}. {title}",
        f"{sum(o.passed for o in outcomes)}/{len(outcomes)}",
        str(sum(o.lost for o in outcomes)),
        str(sum(o.duplicates for o in outcomes)),
        str(sum(o.orphans for o in outcomes)),
        figure,
        notes.replace("|", "/"),
    ]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def generate(directory: Path, args: argparse.Namespace) -> Media:
    """The clips (realistic stereo audio, tiny video)."""
    directory.mkdir(parents=True, exist_ok=True)
    long = make_video(directory / "long.mp4", args.long_seconds, "160x120", GENERATE_TIMEOUT, fps=5)
    small = make_video(
        directory / "small.mp4", args.burst_seconds, "160x120", GENERATE_TIMEOUT, fps=5
    )
    medium = make_video(directory / "medium.mp4", 30, "160x120", GENERATE_TIMEOUT, fps=5)
    burst = copies(small, directory / "burst", args.burst, GENERATE_TIMEOUT)
    return Media(long, burst, medium)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("CHAOS_RUNS", "3")))
    parser.add_argument("--only", default="1,2,3,4,5", help="scenario numbers, comma-separated")
    parser.add_argument("--burst", type=int, default=50, help="clips of scenario 2")
    parser.add_argument("--burst-seconds", type=int, default=10)
    parser.add_argument("--long-seconds", type=int, default=300, help="clip of scenario 1")
    parser.add_argument("--kill-jobs", type=int, default=3)
    parser.add_argument("--db-jobs", type=int, default=12)
    parser.add_argument("--smtp-jobs", type=int, default=3)
    parser.add_argument("--smtp-delay", type=float, default=5.0)
    parser.add_argument("--outage-seconds", type=float, default=3.0)
    parser.add_argument("--job-timeout", type=float, default=180.0)
    parser.add_argument("--output", type=Path, default=Path(".data/chaos.md"))
    return parser.parse_args(argv)


def versions() -> str:
    """ffmpeg and RabbitMQ versions, for the header."""
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False)
    broker = subprocess.run(
        ["rabbitmqctl", "-q", "version"], capture_output=True, text=True, check=False
    )
    first = ffmpeg.stdout.splitlines()[0].split()[2] if ffmpeg.stdout else "?"
    return f"ffmpeg {first}, RabbitMQ {broker.stdout.strip() or '?'}"


def main(argv: list[str]) -> int:
    """Run the chosen scenarios, print and write the table; exit 1 if any run failed."""
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the broker and the database are always started again.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chosen = [s for s in SCENARIOS if s.key in args.only.split(",")]
    started = time.monotonic()
    results: dict[str, list[Outcome]] = {}
    with tempfile.TemporaryDirectory(prefix="mp3c-chaos-") as name:
        tmp = Path(os.environ.get("CHAOS_TMP") or name)
        log("generating media")
        media = generate(tmp / "media", args)
        log("starting the stack")
        with running_stack(tmp / "stack") as stack:
            gateway = Gateway(stack.gateway_url, 60.0)
            suite = Suite(args, stack, gateway, media)
            try:
                for scenario in chosen:
                    for run in range(args.runs):
                        log(f"scenario {scenario.key} ({scenario.title}), run {run + 1}")
                        try:
                            outcome = scenario.run(suite)
                        except Exception as exc:  # one broken run must not hide the others
                            outcome = Outcome(False, notes=[f"error: {exc!r}"[:300]])
                        suite.check_roles(outcome)
                        log(f"  {'pass' if outcome.passed else 'FAIL'}: {outcome}")
                        results.setdefault(scenario.key, []).append(outcome)
            finally:
                gateway.close()
    header = [
        "Scenario",
        "Passed",
        "Lost jobs",
        "Duplicate MP3s",
        "Orphan chunks",
        f"Recovery, median [min{DASH}max]",
        "Notes",
    ]
    rows = [row(s, results[s.key], args) for s in chosen]
    command = shlex.join(["bench/chaos.py", *argv])
    text = "\n".join(
        [
            f"Chaos suite, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs "
            f"({platform.machine()}), {versions()}; `{command}`; "
            f"{args.runs} runs per row, {time.monotonic() - started:.0f} s in all.",
            "",
            markdown(header, rows),
            "",
        ]
    )
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    log(f"table written to {args.output}")
    return 0 if all(o.passed for outs in results.values() for o in outs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
