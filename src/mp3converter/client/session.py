"""An authenticated conversation with the gateway: access tokens from the stored login.

With a refresh token, an access token is got with `grant_type=refresh_token` when first needed
and again a minute before it expires. The server retires the presented refresh token and hands
out a new one; that new one is written to disk (under the store's lock) before the access token
is used, so a crash right after can never leave only a retired token behind. With an API key,
the key itself is the bearer credential.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx_sse import EventSource, connect_sse

from mp3converter import __version__
from mp3converter.client.errors import (
    ApiError,
    ClientError,
    NotLoggedIn,
    ServerUnreachable,
    SessionExpired,
    api_error,
)
from mp3converter.client.login_store import LoginStore, StoredLogin

USER_AGENT = f"mp3converter-cli/{__version__}"
# Seconds of life an access token must have left to be used; else it is refreshed first.
TOKEN_MARGIN_SECONDS = 60.0
TIMEOUT = httpx.Timeout(30.0, read=120.0)  # a stream sends a ping every 15 s


def normalise_server(url: str) -> str:
    """The gateway's base URL without a trailing slash; only http(s) with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientError(f"--server must be an http:// or https:// URL, not {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ClientError("--server must not carry a query, fragment or user:password@")
    return url.strip().rstrip("/")


def http_client(server: str) -> httpx.Client:
    """A client for the gateway at `server`."""
    return httpx.Client(base_url=server, timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})


@contextlib.contextmanager
def transport_errors(server: str) -> Iterator[None]:
    """Turn httpx's transport errors into the client's own."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ServerUnreachable(server, exc) from exc
    except httpx.TransportError as exc:
        raise ClientError(
            f"the connection to {server} failed: {exc or type(exc).__name__}"
        ) from exc


def token_request(client: httpx.Client, server: str, form: dict[str, str]) -> dict[str, Any]:
    """POST /token; the token pair, or an ApiError in OAuth's words."""
    with transport_errors(server):
        response = client.post("/token", data=form)
    if response.status_code != 200:
        raise api_error(response)
    answer: dict[str, Any] = response.json()
    return answer


class ApiSession:
    """Requests to the gateway as the stored login."""

    def __init__(self, store: LoginStore, login: StoredLogin, client: httpx.Client) -> None:
        self._store, self.login, self.client = store, login, client
        self._access_token: str | None = None
        self._expires_at = 0.0
        # Threads of one session (parallel conversions) refresh one at a time: the second
        # finds the token the first got instead of rotating the refresh token again.
        self._refreshing = threading.Lock()

    @classmethod
    @contextlib.contextmanager
    def open(cls, store: LoginStore) -> Iterator[ApiSession]:
        """A session of the stored login; NotLoggedIn when there is none."""
        login = store.load()
        if login is None:
            raise NotLoggedIn()
        with http_client(login.server) as client:
            yield cls(store, login, client)

    @property
    def server(self) -> str:
        """The gateway's base URL."""
        return self.login.server

    @property
    def uses_api_key(self) -> bool:
        """Whether the stored credential is an API key (else a refresh token)."""
        return self.login.credential == "api_key"

    def bearer(self) -> dict[str, str]:
        """The Authorization header, refreshing the access token when it is due."""
        if self.login.credential == "api_key":
            return {"Authorization": f"Bearer {self.login.secret}"}
        with self._refreshing:
            if self._access_token is None or time.monotonic() >= self._expires_at:
                self._refresh()
            return {"Authorization": f"Bearer {self._access_token}"}

    def _refresh(self) -> None:
        with self._store.locked():
            # Read under the lock: another process may have rotated the token meanwhile.
            login = self._store.load()
            if login is None:
                raise NotLoggedIn()
            if login.server != self.login.server:  # `login` to another server meanwhile
                raise ClientError(f"now logged in to {login.server}, not {self.login.server}")
            if login.credential != "refresh_token":
                self.login = login
                return
            form = {"grant_type": "refresh_token", "refresh_token": login.secret}
            try:
                pair = token_request(self.client, login.server, form)
            except ApiError as exc:
                if exc.body.get("error") == "invalid_grant" or exc.status == 401:
                    raise SessionExpired(login.server) from exc
                raise
            self.login = replace(login, secret=str(pair["refresh_token"]))
            self._store.save(self.login)
        self._access_token = str(pair["access_token"])
        lifetime = float(pair.get("expires_in") or 300)
        self._expires_at = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 0.0)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request with the bearer token; raises for any answer that is not 2xx."""
        headers = {**kwargs.pop("headers", {}), **self.bearer()}
        with transport_errors(self.server):
            response = self.client.request(method, path, headers=headers, **kwargs)
        check(response, self.server, api_key=self.uses_api_key)
        return response

    @contextlib.contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed request with the bearer token; raises for any answer that is not 2xx."""
        headers = {**kwargs.pop("headers", {}), **self.bearer()}
        with (
            transport_errors(self.server),
            self.client.stream(method, path, headers=headers, **kwargs) as response,
        ):
            if not response.is_success:
                response.read()
            check(response, self.server, api_key=self.uses_api_key)
            yield response

    @contextlib.contextmanager
    def events(self, path: str, **kwargs: Any) -> Iterator[EventSource]:
        """A Server-Sent Events stream; raises for any answer that is not 2xx."""
        headers = {**kwargs.pop("headers", {}), **self.bearer()}
        with (
            transport_errors(self.server),
            connect_sse(self.client, "GET", path, headers=headers, **kwargs) as source,
        ):
            if not source.response.is_success:
                source.response.read()
            check(source.response, self.server, api_key=self.uses_api_key)
            yield source


def check(response: httpx.Response, server: str, *, api_key: bool = False) -> None:
    """Raise SessionExpired for 401, ApiError for any other answer that is not 2xx."""
    if response.status_code == 401:
        raise SessionExpired(server, api_key=api_key)
    if not response.is_success:
        raise api_error(response)
