"""The client's subcommands of `mp3converter`: their flags, and running one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mp3converter.client.errors import ClientError, terminal_safe
from mp3converter.client.option_flags import add_option_flags

CLIENT_COMMANDS = ("login", "logout", "convert", "jobs", "download")  # cli.py dispatches these
MAX_PARALLEL = 8
MAX_PAGE_SIZE = 200  # the API's own limit on GET /jobs


def add_client_commands(commands: Any) -> None:
    """Add login, logout, convert, jobs and download to the subparsers `commands`."""
    login = commands.add_parser(
        "login",
        help="sign in to a server and keep the session (client)",
        description="Password from MP3CONVERTER_PASSWORD or a prompt; an API key from "
        "MP3CONVERTER_API_KEY or a prompt. Stored under MP3CONVERTER_CONFIG_DIR or the user's "
        "config dir, readable by the user only.",
    )
    login.add_argument(
        "--server", required=True, metavar="URL", help="the gateway, e.g. http://127.0.0.1:8080"
    )
    who = login.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="sign in with this account's password")
    who.add_argument("--api-key", action="store_true", help="store a personal API key instead")
    commands.add_parser("logout", help="revoke the session and forget it (client)")

    convert = commands.add_parser(
        "convert",
        help="convert videos to MP3 on the server (client)",
        description="Upload each file, follow its conversion, and save <stem>.mp3 next to it "
        "(or in --output-dir). An existing file is never replaced: the MP3 becomes "
        "'<stem> (1).mp3' and so on. Exits 1 if any file failed.",
    )
    convert.add_argument("files", nargs="+", metavar="FILE")
    convert.add_argument("-o", "--output-dir", type=Path, metavar="DIR")
    convert.add_argument("--json", action="store_true", help="print one JSON document, no bars")
    convert.add_argument(
        "--parallel",
        type=_whole_number(MAX_PARALLEL),
        default=2,
        metavar="N",
        help=f"files converted at once, 1 … {MAX_PARALLEL} (default 2)",
    )
    add_option_flags(convert)

    jobs = commands.add_parser("jobs", help="list your jobs, newest first (client)")
    jobs.add_argument(
        "--limit", type=_whole_number(MAX_PAGE_SIZE), default=20, metavar="N", help="1 … 200"
    )
    jobs.add_argument("--json", action="store_true", help="print the API's JSON answer")

    download = commands.add_parser("download", help="save a done job's MP3 (client)")
    download.add_argument("job_id", metavar="JOB_ID")
    download.add_argument("-o", "--output-dir", type=Path, metavar="DIR")
    download.add_argument("--json", action="store_true", help="print one JSON document")


def _whole_number(high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to `high`."""

    def parse(text: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from 1 to {high}, not {text!r}"
            )
        return int(text)

    return parse


def client_parser() -> argparse.ArgumentParser:
    """A parser of the client's subcommands only (no server module is imported for it)."""
    parser = argparse.ArgumentParser(prog="mp3converter")
    add_client_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def run_client_command(args: argparse.Namespace) -> int:
    """Run the parsed client subcommand; errors are one line on stderr and exit status 1."""
    handler = _handlers()[args.command]
    try:
        return handler(args)
    except ClientError as exc:
        print(f"mp3converter: {terminal_safe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mp3converter: interrupted", file=sys.stderr)
        return 130


def _handlers() -> dict[str, Callable[[argparse.Namespace], int]]:
    from mp3converter.client import account_commands, convert_command, job_commands

    return {
        "login": account_commands.login,
        "logout": account_commands.logout,
        "convert": convert_command.convert,
        "jobs": job_commands.list_jobs,
        "download": job_commands.download,
    }
