"""`mp3converter dead-letters list|replay|purge`: the operators' view of the dead-letter queues."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mp3converter.config import Settings
    from mp3converter.usecases.dead_letters import Report

# The converter's credentials: it may read and move jobs and publish to the broker.
ROLE = "converter"


def add_dead_letter_command(commands: Any) -> None:
    """The `dead-letters` subcommand and its options."""
    dead = commands.add_parser(
        "dead-letters", help="list, replay or purge dead-lettered messages (operators)"
    )
    dead.add_argument("action", choices=["list", "replay", "purge"])
    dead.add_argument("--queue", choices=["convert", "notification"], help="default: both")
    dead.add_argument("--job", metavar="ID", help="only the messages of this job")
    dead.add_argument("--limit", type=int, default=1000, help="messages read per queue")
    dead.add_argument("--json", action="store_true", help="one JSON document on stdout")


async def _run(args: argparse.Namespace, settings: Settings) -> list[Report]:
    from mp3converter import bootstrap
    from mp3converter.adapters.job_store import JobStore
    from mp3converter.roles.converter import convert_job
    from mp3converter.usecases.dead_letters import KINDS, DeadLetters

    async with bootstrap.database_and_broker(settings, ROLE) as (db, broker):
        tool = DeadLetters(
            settings.amqp_url.get_secret_value(),
            broker.topology,
            JobStore(db),
            convert_job(settings, db, broker).fail,
            limit=args.limit,
        )
        kinds = (args.queue,) if args.queue else KINDS
        action = {"list": tool.peek, "replay": tool.replay, "purge": tool.purge}[args.action]
        return await action(kinds, args.job)


def run_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    """Run the action and print what happened to each message."""
    reports = asyncio.run(_run(args, settings))
    if args.json:
        print(json.dumps([asdict(report) for report in reports], default=str, indent=2))
        return 0
    for r in reports:
        died = r.died_at.isoformat() if r.died_at else "?"
        line = (
            f"{r.action:8} {r.queue:12} job={r.job_id} {r.type} reason={r.reason} "
            f"deaths={r.deaths} replays={r.replays} died={died} job_status={r.job_status}"
        )
        print(line + (f" ({r.note})" if r.note else ""))
    if not reports:
        print("no dead letters")
    return 0
