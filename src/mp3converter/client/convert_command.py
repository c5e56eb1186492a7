"""`mp3converter convert FILE…`: upload each file, follow its job live, download its MP3.

`--parallel N` files (2 by default) are converted at once, each in its own thread, so a
platform with more than one converter slot works on several of the user's files together (the
server caps a user's jobs in flight; a job past the cap is refused with its reason). A file that
fails does not stop the others; the command exits 1 if any failed, after naming each with its
reason on stderr. Losing the session or the server ends the run: the files not yet started are
reported as failed with that reason. Results are listed in the order the files were given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.progress import Progress

from mp3converter.client.errors import (
    ApiError,
    ClientError,
    NotLoggedIn,
    ServerUnreachable,
    SessionExpired,
    terminal_safe,
)
from mp3converter.client.job_follower import OnUpdate, follow_job
from mp3converter.client.login_store import LoginStore, config_dir
from mp3converter.client.option_flags import option_fields
from mp3converter.client.output_files import save_new_file
from mp3converter.client.progress_display import advancing, label, progress_bars
from mp3converter.client.session import ApiSession
from mp3converter.client.upload_body import FileChanged, MultipartUpload

FATAL = (NotLoggedIn, SessionExpired, ServerUnreachable)


@dataclass
class FileResult:
    """What became of one input file."""

    source: Path
    status: str = "failed"
    job_id: str | None = None
    output: Path | None = None
    error: dict[str, str] | None = field(default=None)

    def as_json(self) -> dict[str, Any]:
        """The result as `--json` prints it."""
        return {
            "input": os.path.abspath(self.source),
            "job_id": self.job_id,
            "status": self.status,
            "output": None if self.output is None else os.path.abspath(self.output),
            "size_bytes": None if self.output is None else self.output.stat().st_size,
            "error": self.error,
        }


def convert(args: argparse.Namespace) -> int:
    """Convert every file; 0 when all are done, 1 when any failed."""
    sources = [Path(name) for name in args.files]
    fields = option_fields(args)
    stderr = Console(stderr=True)
    show_progress = stderr.is_terminal and not args.json
    run = _Run(quiet=args.json, live=show_progress)
    try:
        with (
            ApiSession.open(LoginStore(config_dir())) as session,
            progress_bars(stderr, enabled=show_progress) as progress,
            ThreadPoolExecutor(max_workers=args.parallel) as pool,
        ):

            def one(index: int, source: Path) -> FileResult:
                if run.fatal is not None:
                    return FileResult(source, error={"code": "client", "reason": str(run.fatal)})
                try:
                    result = convert_one(session, source, fields, args.output_dir, progress)
                except FATAL as exc:
                    run.fatal = run.fatal or exc
                    return FileResult(source, error={"code": "client", "reason": str(exc)})
                run.report(index, result)
                return result

            results = list(pool.map(one, range(len(sources)), sources))
    except FATAL as exc:  # the stored login could not be read: nothing was started
        run.fatal = exc
        results = [FileResult(s, error={"code": "client", "reason": str(exc)}) for s in sources]
    run.flush()
    if run.fatal is not None:
        print(f"mp3converter: {terminal_safe(run.fatal)}", file=sys.stderr)
    if args.json:
        print(json.dumps({"files": [result.as_json() for result in results]}, indent=2))
    return 0 if results and all(result.status == "done" for result in results) else 1


@dataclass
class _Run:
    """What the threads of one run share: the first fatal error, and the report lines.

    While the bars are live on the terminal, a line printed beside them would tear the display,
    so the lines wait for the end (then in the order the files were given); without bars each
    is printed as its file ends."""

    quiet: bool
    live: bool
    fatal: Exception | None = None
    pending: list[tuple[int, FileResult]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, index: int, result: FileResult) -> None:
        with self.lock:
            if self.live:
                self.pending.append((index, result))
            else:
                _report(result, quiet=self.quiet)

    def flush(self) -> None:
        with self.lock:
            for _, result in sorted(self.pending, key=lambda pair: pair[0]):
                _report(result, quiet=self.quiet)
            self.pending.clear()


def convert_one(
    session: ApiSession,
    source: Path,
    fields: list[tuple[str, str]],
    output_dir: Path | None,
    progress: Progress,
) -> FileResult:
    """Upload, follow and download one file; errors of this file only become its result."""
    result = FileResult(source)
    try:
        if not source.is_file():
            raise ClientError("no such file")
        result.job_id = _upload(session, source, fields, progress)
        job = follow_job(session, result.job_id, _status_bar(progress, source.name))
        if job["status"] != "done":
            error = job.get("error") or {}
            result.error = {
                "code": str(error.get("code", "failed")),
                "reason": str(error.get("reason", "the job failed")),
            }
            return result
        result.output = _download(
            session, result.job_id, output_dir or source.parent, source.stem, progress
        )
        result.status = "done"
    except FATAL:
        raise
    except ApiError as exc:
        code = str(exc.body.get("type", "")).rsplit("/", 1)[-1] or str(exc.status)
        result.error = {"code": code, "reason": str(exc)}
    except (ClientError, FileChanged, OSError) as exc:
        result.error = {"code": "client", "reason": str(exc)}
    return result


def _upload(
    session: ApiSession, source: Path, fields: list[tuple[str, str]], progress: Progress
) -> str:
    body = MultipartUpload(fields, source)
    task = progress.add_task(label("upload", source.name), total=body.size, unit="bytes")
    response = session.request(
        "POST",
        "/upload",
        content=body.chunks(lambda sent: progress.advance(task, sent)),
        headers=body.headers(),
    )
    job_id: str = response.json()["job_id"]
    return job_id


def _status_bar(progress: Progress, name: str) -> OnUpdate:
    task = progress.add_task(label("convert", name), total=1.0, status="queued")

    def on_update(status: str, fraction: float) -> None:
        shown = f"{status} {fraction:.0%}" if status == "converting" else status
        progress.update(task, completed=1.0 if status == "done" else fraction, status=shown)

    return on_update


def _download(
    session: ApiSession, job_id: str, directory: Path, stem: str, progress: Progress
) -> Path:
    with session.stream("GET", f"/download/{quote(job_id, safe='')}") as response:
        total = int(response.headers.get("content-length") or 0) or None
        task = progress.add_task(label("download", f"{stem}.mp3"), total=total, unit="bytes")
        return save_new_file(directory, stem, advancing(response.iter_bytes(), progress, task))


def _report(result: FileResult, *, quiet: bool) -> None:
    if result.status == "done":
        if not quiet:
            print(f"{result.source} → {result.output}")
        return
    error = result.error or {}
    print(
        terminal_safe(
            f"mp3converter: {result.source} failed: {error.get('reason')}"
            + (f" ({error['code']})" if error.get("code") not in (None, "client") else "")
        ),
        file=sys.stderr,
    )
