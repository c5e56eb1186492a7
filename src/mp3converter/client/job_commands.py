"""`mp3converter jobs` (the caller's jobs, newest first) and `mp3converter download JOB_ID`."""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich import filesize
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mp3converter.client.errors import ClientError, terminal_safe
from mp3converter.client.login_store import LoginStore, config_dir
from mp3converter.client.output_files import safe_stem, save_new_file
from mp3converter.client.progress_display import advancing, label, progress_bars
from mp3converter.client.session import ApiSession


def list_jobs(args: argparse.Namespace) -> int:
    """Print the newest jobs as a table, or the API's answer with --json."""
    with ApiSession.open(LoginStore(config_dir())) as session:
        answer = session.request("GET", "/jobs", params={"limit": args.limit}).json()
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    jobs: list[dict[str, Any]] = answer["jobs"]
    if not jobs:
        print("No jobs yet.")
        return 0
    table = Table("created", "job id", "file", "status", "MP3", box=None, pad_edge=False)
    table.columns[1].no_wrap = True
    for job in jobs:
        size = job.get("size_bytes")
        table.add_row(  # Text: a server's strings are neither markup nor escape sequences
            _local_time(job["created_at"]),
            Text(terminal_safe(job["job_id"])),
            Text(terminal_safe(job["filename"])),
            Text(terminal_safe(status_text(job))),
            filesize.decimal(size) if size and job["status"] == "done" else "",
        )
    Console(soft_wrap=False).print(table)
    return 0


def download(args: argparse.Namespace) -> int:
    """Save a done job's MP3 under its (sanitised) file name in --output-dir."""
    job_id, path = args.job_id, quote(args.job_id, safe="")
    stderr = Console(stderr=True)
    directory: Path = args.output_dir or Path.cwd()
    with ApiSession.open(LoginStore(config_dir())) as session:
        job = session.request("GET", f"/jobs/{path}").json()
        if job["status"] == "failed":
            raise ClientError(f"job {job_id} {status_text(job)}")
        if job["status"] != "done":
            raise ClientError(f"job {job_id} is {status_text(job)}: no MP3 yet")
        stem = safe_stem(str(job.get("filename") or ""), fallback=safe_stem(job_id, "download"))
        bars = progress_bars(stderr, enabled=stderr.is_terminal and not args.json)
        with bars as progress, session.stream("GET", f"/download/{path}") as response:
            total = int(response.headers.get("content-length") or 0) or None
            task = progress.add_task(label("download", f"{stem}.mp3"), total=total, unit="bytes")
            output = save_new_file(
                directory, stem, advancing(response.iter_bytes(), progress, task)
            )
    if args.json:
        answer = {"job_id": job_id, "output": os.path.abspath(output)}
        print(json.dumps({**answer, "size_bytes": output.stat().st_size}, indent=2))
    else:
        print(output)
    return 0


def status_text(job: dict[str, Any]) -> str:
    """`queued`, `converting 42%`, `done` or `failed: <reason>`."""
    status = str(job["status"])
    if status == "converting":
        return f"converting {float(job.get('progress') or 0):.0%}"
    if status == "failed":
        return f"failed: {(job.get('error') or {}).get('reason', 'unknown reason')}"
    return status


def _local_time(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp
