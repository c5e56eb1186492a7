"""How the client words the API's error answers."""

from __future__ import annotations

import httpx

from mp3converter.client.errors import api_error, terminal_safe


def _response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_problem_details_read_title_colon_detail() -> None:
    error = api_error(
        _response(413, {"type": "https://x/problems/too-large", "title": "Content Too Large",
                        "status": 413, "detail": "the file exceeds 8 MiB"})
    )  # fmt: skip
    assert str(error) == "Content Too Large: the file exceeds 8 MiB"
    assert error.status == 413


def test_invalid_options_name_each_field() -> None:
    body = {
        "title": "Unprocessable Content",
        "detail": "some options are not valid",
        "errors": [{"loc": ["body", "bitrate"], "msg": "must be one of 32, 40 (kbit/s)"}],
    }
    assert str(api_error(_response(422, body))) == (
        "Unprocessable Content: some options are not valid\n  bitrate: must be one of 32, 40 (kbit/s)"
    )


def test_oauth_errors_and_retry_after() -> None:
    error = api_error(
        _response(429, {"error": "temporarily_unavailable", "error_description": "locked"},
                  **{"Retry-After": "8"})
    )  # fmt: skip
    assert str(error) == "temporarily_unavailable: locked (retry after 8 s)"


def test_anything_else_is_its_status() -> None:
    assert str(api_error(httpx.Response(502, text="<html>Bad gateway</html>"))) == "502 Bad Gateway"


def test_server_text_reaches_the_terminal_without_escape_sequences() -> None:
    shown = terminal_safe("done\x1b]0;owned\x07 \u202eevil[/b]")
    assert not {"\x1b", "\x07", "\u202e"} & set(shown)
    assert shown.endswith("evil[/b]")  # markup characters stay as text
