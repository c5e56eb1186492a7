"""`mp3converter`: run a role, start the local platform, manage users, or use a server as a
client (login, convert, jobs, download, logout)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from typing import TYPE_CHECKING

from mp3converter.client.commands import CLIENT_COMMANDS

if TYPE_CHECKING:
    from mp3converter.config import Settings

# The client's subcommands (CLIENT_COMMANDS) are dispatched before any server module (settings,
# roles, adapters) is imported: the client talks HTTP only and must not need the server's
# configuration. client.commands imports only client modules.


def _parser() -> argparse.ArgumentParser:
    from mp3converter.client.commands import add_client_commands
    from mp3converter.dead_letter_command import add_dead_letter_command
    from mp3converter.roles import ROLES

    parser = argparse.ArgumentParser(prog="mp3converter", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add_client_commands(commands)
    run = commands.add_parser("run", help="run one role of the platform")
    run.add_argument("role", choices=list(ROLES))
    commands.add_parser("dev", help="start the whole platform on this machine (make run)")
    ready = commands.add_parser(
        "ready", help="exit 0 if the role on this host answers /readyz (container health checks)"
    )
    ready.add_argument("role", choices=list(ROLES))
    commands.add_parser(
        "sweep", help="apply retention once: expired MP3s, old job records, orphaned files"
    )
    commands.add_parser(
        "mongo-users-script",
        help="print the mongosh script that creates one least-privilege MongoDB user per role",
    )
    add_dead_letter_command(commands)
    users = commands.add_parser("users", help="manage users directly in MongoDB")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    create = user_commands.add_parser("create", help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--admin", action="store_true", help="make the user an admin")
    create.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the password from this environment variable (else it is prompted)",
    )
    return parser


async def _create_user(settings: Settings, email: str, password: str, admin: bool) -> str:
    from mp3converter import bootstrap
    from mp3converter.adapters.passwords import Passwords
    from mp3converter.adapters.user_store import UserStore
    from mp3converter.usecases.accounts import create_account

    async with bootstrap.database(settings, "auth") as db:
        user = await create_account(UserStore(db), Passwords(), email, password, is_admin=admin)
        return user.user_id


async def _sweep(settings: Settings) -> str:
    from mp3converter import bootstrap
    from mp3converter.usecases.retention import Sweeper

    async with bootstrap.database(settings, "upload") as db:
        report = await Sweeper.on(db, settings).sweep()
        return " ".join(f"{name}={count}" for name, count in vars(report).items())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mp3converter` command."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in CLIENT_COMMANDS:
        from mp3converter.client.commands import client_parser, run_client_command

        return run_client_command(client_parser().parse_args(arguments))
    args = _parser().parse_args(arguments)
    return _server_command(args)


def _server_command(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from mp3converter.config import load_settings
    from mp3converter.logs import configure_logging
    from mp3converter.roles import run_role

    # Production checks follow the role.
    # `users` is the auth role's work, `sweep` the upload role's, `dead-letters` the converter's,
    # done from a shell.
    role = {"users": "auth", "sweep": "upload", "dead-letters": "converter"}.get(args.command)
    if args.command in ("run", "ready"):
        role = args.role
    try:
        settings = load_settings(role)
    except ValidationError as exc:
        print(f"mp3converter: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        from mp3converter.tracing import configure_tracing

        configure_logging(settings.log_level, args.role, settings.log_format)
        configure_tracing(args.role, settings.otel_exporter_otlp_endpoint)
        run_role(args.role, settings)
        return 0
    if args.command == "ready":
        from mp3converter.devstack.probe import is_ready

        return 0 if is_ready(settings.listen_ops_port) else 1
    if args.command == "dev":
        from mp3converter.devstack.local import run_dev_stack

        return run_dev_stack(settings)
    if args.command == "mongo-users-script":
        from mp3converter.adapters.mongo_users import create_users_script

        print(create_users_script(), end="")
        return 0
    if args.command == "sweep":
        print(asyncio.run(_sweep(settings)))
        return 0
    if args.command == "dead-letters":
        from mp3converter.dead_letter_command import run_dead_letters

        return run_dead_letters(args, settings)
    return _users(args, settings)


def _users(args: argparse.Namespace, settings: Settings) -> int:
    from mp3converter.adapters.user_store import EmailTaken
    from mp3converter.usecases.accounts import InvalidAccount

    if args.password_env:
        password = os.environ.get(args.password_env, "")
    else:
        password = getpass.getpass("password: ")
    try:
        user_id = asyncio.run(_create_user(settings, args.email, password, args.admin))
    except (InvalidAccount, EmailTaken) as exc:
        print(f"mp3converter: cannot create user: {exc}", file=sys.stderr)
        return 1
    print(user_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
