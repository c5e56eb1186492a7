"""Following a job: live events while the stream lasts, polling when it cannot be had."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mp3converter.client import job_follower
from mp3converter.client.errors import ApiError
from mp3converter.client.job_follower import follow_job
from mp3converter.client.login_store import LoginStore, StoredLogin
from mp3converter.client.session import ApiSession

DONE = {"job_id": "j1", "status": "done", "progress": 1.0}


def _sse(*events: tuple[str, dict[str, object]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def _session(tmp_path: Path, handler: Callable[[httpx.Request], httpx.Response]) -> ApiSession:
    store = LoginStore(tmp_path)
    store.save(StoredLogin("http://gateway.test", "api_key", "mp3c_key"))
    client = httpx.Client(base_url="http://gateway.test", transport=httpx.MockTransport(handler))
    return ApiSession(store, StoredLogin("http://gateway.test", "api_key", "mp3c_key"), client)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_follower, "POLL_SECONDS", 0.0)


def test_the_stream_reports_state_progress_and_the_end(tmp_path: Path) -> None:
    body = _sse(
        ("state", {"job_id": "j1", "status": "queued", "progress": 0.0}),
        ("progress", {"job_id": "j1", "progress": 0.5}),
        ("done", DONE),
    )
    stream = httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
    seen: list[tuple[str, float]] = []
    job = follow_job(_session(tmp_path, lambda request: stream), "j1", lambda *a: seen.append(a))
    assert job == DONE
    assert seen == [("queued", 0.0), ("converting", 0.5), ("done", 1.0)]


@pytest.mark.parametrize(
    "stream",
    [
        httpx.Response(429, json={"title": "Too Many Requests", "detail": "too many streams"}),
        httpx.Response(
            200,
            content=_sse(("state", {"status": "converting", "progress": 0.2})),
            headers={"content-type": "text/event-stream"},
        ),
        httpx.Response(200, text="<html>buffered by a proxy</html>"),
    ],
    ids=["refused", "dropped-before-the-end", "not-an-event-stream"],
)
def test_without_a_usable_stream_the_job_is_polled(tmp_path: Path, stream: httpx.Response) -> None:
    polls = iter([{"job_id": "j1", "status": "converting", "progress": 0.7}, DONE])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return stream
        return httpx.Response(200, json=next(polls))

    seen: list[tuple[str, float]] = []
    assert follow_job(_session(tmp_path, handler), "j1", lambda *a: seen.append(a)) == DONE
    assert seen[-2:] == [("converting", 0.7), ("done", 1.0)]


def test_a_job_that_does_not_exist_is_an_error_not_a_poll(tmp_path: Path) -> None:
    missing = httpx.Response(404, json={"title": "Not Found", "detail": "no such job"})
    with pytest.raises(ApiError, match="Not Found: no such job"):
        follow_job(_session(tmp_path, lambda request: missing), "j1", lambda *a: None)
