"""Access tokens from the stored login: the rotated refresh token is saved before it is used."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from mp3converter.client import session as session_module
from mp3converter.client.errors import ClientError, NotLoggedIn, SessionExpired
from mp3converter.client.login_store import LoginStore, StoredLogin
from mp3converter.client.session import ApiSession, normalise_server

SERVER = "http://gateway.test"


class FakeAuth:
    """A /token endpoint that rotates refresh tokens, and a /jobs that wants a bearer."""

    def __init__(self, store: LoginStore) -> None:
        self.store = store
        self.current = "refresh-0"
        self.issued = 0
        self.stored_when_used: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if form.get("refresh_token") != self.current:
                return httpx.Response(400, json={"error": "invalid_grant"})
            self.issued += 1
            self.current = f"refresh-{self.issued}"
            body = {"access_token": f"access-{self.issued}", "refresh_token": self.current,
                    "expires_in": 900, "token_type": "bearer"}  # fmt: skip
            return httpx.Response(200, json=body)
        stored = self.store.load()
        self.stored_when_used.append(stored.secret if stored else "")
        if request.headers.get("authorization") == "Bearer mp3c_key":
            return httpx.Response(200, json={"jobs": []})
        if request.headers.get("authorization") != f"Bearer access-{self.issued}":
            return httpx.Response(401, json={"title": "Unauthorized", "detail": "bad token"})
        return httpx.Response(200, json={"jobs": []})


@pytest.fixture
def store(tmp_path: Path) -> LoginStore:
    return LoginStore(tmp_path)


def _session(store: LoginStore, auth: FakeAuth) -> ApiSession:
    login = store.load()
    assert login is not None
    return ApiSession(
        store, login, httpx.Client(base_url=SERVER, transport=httpx.MockTransport(auth))
    )


def test_the_rotated_refresh_token_is_stored_before_the_access_token_is_used(
    store: LoginStore,
) -> None:
    store.save(StoredLogin(SERVER, "refresh_token", "refresh-0"))
    auth = FakeAuth(store)
    session = _session(store, auth)

    session.request("GET", "/jobs")
    session.request("GET", "/jobs")  # the access token is reused while it is fresh

    assert auth.issued == 1
    assert auth.stored_when_used == ["refresh-1", "refresh-1"]
    assert json.loads(store.path.read_text())["secret"] == "refresh-1"


def test_an_access_token_near_its_expiry_is_refreshed(
    store: LoginStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(StoredLogin(SERVER, "refresh_token", "refresh-0"))
    auth = FakeAuth(store)
    session = _session(store, auth)
    clock = [1000.0]
    monkeypatch.setattr(session_module.time, "monotonic", lambda: clock[0])
    session.request("GET", "/jobs")
    clock[0] += 900 - session_module.TOKEN_MARGIN_SECONDS - 1
    session.request("GET", "/jobs")
    assert auth.issued == 1
    clock[0] += 2
    session.request("GET", "/jobs")
    assert auth.issued == 2
    assert store.load() == StoredLogin(SERVER, "refresh_token", "refresh-2")


def test_a_token_rotated_by_another_command_is_read_again_not_reused(store: LoginStore) -> None:
    store.save(StoredLogin(SERVER, "refresh_token", "refresh-0"))
    auth = FakeAuth(store)
    first, second = _session(store, auth), _session(store, auth)  # both read refresh-0
    first.request("GET", "/jobs")
    second.request("GET", "/jobs")  # re-reads the file under the lock: refresh-1, not refresh-0
    assert auth.issued == 2


def test_a_refused_refresh_token_means_the_session_ended(store: LoginStore) -> None:
    store.save(StoredLogin(SERVER, "refresh_token", "someone-elses"))
    session = _session(store, FakeAuth(store))
    with pytest.raises(SessionExpired, match=r"login --server http://gateway\.test"):
        session.request("GET", "/jobs")


def test_an_api_key_is_the_bearer_itself(store: LoginStore) -> None:
    store.save(StoredLogin(SERVER, "api_key", "mp3c_key"))
    auth = FakeAuth(store)
    assert _session(store, auth).request("GET", "/jobs").json() == {"jobs": []}
    assert auth.issued == 0


def test_a_401_says_to_log_in_again(store: LoginStore) -> None:
    store.save(StoredLogin(SERVER, "api_key", "mp3c_revoked"))
    with pytest.raises(SessionExpired, match="API key was refused"):
        _session(store, FakeAuth(store)).request("GET", "/jobs")


def test_without_a_stored_login_nothing_is_sent(store: LoginStore) -> None:
    with pytest.raises(NotLoggedIn), ApiSession.open(store):
        pass


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://mp3.example.com", "https://mp3.example.com"),
    ],
)
def test_server_urls_are_normalised(given: str, kept: str) -> None:
    assert normalise_server(given) == kept


@pytest.mark.parametrize(
    "bad", ["127.0.0.1:8080", "ftp://x", "http://", "http://u:p@host", "http://h/?q=1"]
)
def test_unusable_server_urls_are_refused(bad: str) -> None:
    with pytest.raises(ClientError):
        normalise_server(bad)
