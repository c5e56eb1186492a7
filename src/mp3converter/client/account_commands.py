"""`mp3converter login` and `mp3converter logout`."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import ipaddress
import os
import sys
from urllib.parse import urlsplit

from mp3converter.client.errors import ApiError, ClientError, SessionExpired
from mp3converter.client.login_store import LoginStore, StoredLogin, config_dir
from mp3converter.client.session import (
    check,
    http_client,
    normalise_server,
    token_request,
    transport_errors,
)

PASSWORD_VARIABLE = "MP3CONVERTER_PASSWORD"  # noqa: S105 (a variable's name)
API_KEY_VARIABLE = "MP3CONVERTER_API_KEY"


def login(args: argparse.Namespace) -> int:
    """Sign in with a password (keeping the refresh token) or store an API key."""
    server = normalise_server(args.server)
    _warn_if_plain_http(server)
    if args.api_key:
        secret = os.environ.get(API_KEY_VARIABLE) or getpass.getpass("API key: ")
        _check_api_key(server, secret)
        new = StoredLogin(server=server, credential="api_key", secret=secret)
        who = "with an API key"
    else:
        if not args.email:
            raise ClientError("give --email EMAIL (or --api-key to store an API key)")
        prompt = f"Password for {args.email}: "
        password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(prompt)
        form = {"grant_type": "password", "username": args.email, "password": password}
        with http_client(server) as client:
            pair = token_request(client, server, form)
        new = StoredLogin(server, "refresh_token", str(pair["refresh_token"]), email=args.email)
        who = f"as {args.email}"
    store = LoginStore(config_dir())
    with store.locked():
        try:
            previous = store.load()
        except ClientError:  # a damaged file is simply replaced
            previous = None
        store.save(new)
    if previous is not None and previous.credential == "refresh_token":
        _revoke_quietly(previous)  # the login this one replaces is of no more use
    print(f"Logged in to {server} {who}.")
    print(f"Credentials stored in {store.path} (readable by you only).", file=sys.stderr)
    return 0


def logout(args: argparse.Namespace) -> int:
    """Revoke the stored refresh token at the server and delete the stored login."""
    store = LoginStore(config_dir())
    with store.locked():
        stored = store.load()
        if stored is None:
            print("Not logged in.")
            return 0
        revoked, problem = True, ""
        if stored.credential == "refresh_token":
            try:
                _revoke(stored)
            except ClientError as exc:
                revoked, problem = False, str(exc)
        store.delete()
    if not revoked:
        print(
            f"mp3converter: logged out here, but the server did not revoke the session: {problem}",
            file=sys.stderr,
        )
        return 1
    print(f"Logged out of {stored.server}.")
    if stored.credential == "api_key":
        print(
            "The API key itself still works until you delete it (DELETE /api-keys/{key_id}).",
            file=sys.stderr,
        )
    return 0


def _revoke(stored: StoredLogin) -> None:
    with http_client(stored.server) as client, transport_errors(stored.server):
        response = client.post("/revoke", data={"token": stored.secret})
    check(response, stored.server)


def _revoke_quietly(stored: StoredLogin) -> None:
    with contextlib.suppress(ClientError):
        _revoke(stored)


def _check_api_key(server: str, key: str) -> None:
    with http_client(server) as client, transport_errors(server):
        response = client.get(
            "/jobs", params={"limit": 1}, headers={"Authorization": f"Bearer {key}"}
        )
    try:
        check(response, server, api_key=True)
    except SessionExpired as exc:
        raise ClientError("the server refused this API key") from exc
    except ApiError as exc:
        raise ClientError(f"cannot check the API key: {exc}") from exc


def _warn_if_plain_http(server: str) -> None:
    parts = urlsplit(server)
    if parts.scheme != "http" or parts.hostname in (None, "localhost"):
        return
    try:
        if ipaddress.ip_address(parts.hostname).is_loopback:
            return
    except ValueError:
        pass
    print(
        f"mp3converter: warning: {server} is plain http; the password and tokens cross the "
        "network unencrypted",
        file=sys.stderr,
    )
