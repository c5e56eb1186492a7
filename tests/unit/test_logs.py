"""Log lines: the JSON and text formats, the ids of the scope they were logged in, no secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from mp3converter.log_context import bind, current_fields, log_scope
from mp3converter.logs import ContextFilter, JsonFormatter, TextFormatter, redact

TRACER = TracerProvider().get_tracer("tests")
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz"
API_KEY = "mp3c_k1a2b3_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PASSWORD = "hunter2-correct-horse"
SIGNATURE = "Zm9vYmFyYmF6cXV4cXV1eA"


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    """A logger writing JSON lines of the role `converter` into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter("converter"))
    logger = logging.getLogger("tests.logs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, out, handler
    logger.handlers.clear()


def parsed(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_about_a_job_names_role_job_user_and_trace(lines: Any) -> None:
    logger, out, _ = lines
    with TRACER.start_as_current_span("work") as span, log_scope(job_id="job-1"):
        bind(user_id="user-1")
        logger.info("converting %s", "job-1")
    (line,) = parsed(out)
    context = span.get_span_context()
    assert line["role"] == "converter"
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.logs"
    assert line["message"] == "converting job-1"
    assert line["job_id"] == "job-1"
    assert line["user_id"] == "user-1"
    assert line["trace_id"] == f"{context.trace_id:032x}"
    assert line["span_id"] == f"{context.span_id:016x}"
    assert line["time"].endswith("+00:00")


def test_a_line_outside_any_job_has_no_ids(lines: Any) -> None:
    logger, out, _ = lines
    logger.warning("started")
    (line,) = parsed(out)
    assert not {"job_id", "user_id", "trace_id", "span_id"} & set(line)


def test_a_scope_ends_with_its_block_and_extras_are_fields(lines: Any) -> None:
    logger, out, _ = lines
    with log_scope(job_id="outer"):
        with log_scope(user_id="u"):
            bind(job_id="inner")
            logger.info("inside")
        logger.info("after", extra={"http_status": 202, "job_id": "explicit"})
    logger.info("outside")
    inside, after, outside = parsed(out)
    assert (inside["job_id"], inside["user_id"]) == ("inner", "u")
    assert after["job_id"] == "explicit"  # an explicit extra wins over the scope
    assert after["http_status"] == 202
    assert "user_id" not in after
    assert "job_id" not in outside


async def test_ids_bound_in_a_task_or_thread_reach_the_scope() -> None:
    # A request's handler may run parts in a copied context; its ids still reach the last line.
    with log_scope() as fields:
        await asyncio.create_task(_bind_job("from-task"))
        await asyncio.to_thread(bind, user_id="from-thread")
        assert fields == {"job_id": "from-task", "user_id": "from-thread"}
        assert current_fields() == fields


async def _bind_job(job_id: str) -> None:
    bind(job_id=job_id)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {TOKEN}", TOKEN),
        (f"token {TOKEN} rejected", TOKEN),
        (f"headers={{'authorization': 'Basic {PASSWORD}'}}", PASSWORD),
        (f"key {API_KEY} revoked", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
        (f"cannot connect to amqp://mp3c:{PASSWORD}@rabbit:5672/", PASSWORD),
        (f"login failed password={PASSWORD}", PASSWORD),
        (f'{{"password": "{PASSWORD}"}}', PASSWORD),
        (f"refresh_token={PASSWORD}&grant_type=refresh_token", PASSWORD),
        (f"GET /download/j1?u=u1&e=1700000000&k=k1&s={SIGNATURE}", SIGNATURE),
        ("webhook secret whsec_c2VjcmV0LWJ5dGVzLWZvci13ZWJob29r", "c2VjcmV0LWJ5dGVz"),
    ],
)
def test_credentials_are_masked(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "[redacted]" in masked


def test_ordinary_text_is_left_alone() -> None:
    text = "job 3f2c failed: password hashing saturated; 4 tokens revoked (u=1)"
    assert redact(text) == text


def test_no_secret_reaches_a_line_by_message_extra_or_traceback(lines: Any) -> None:
    logger, out, _ = lines
    logger.info("caller sent Bearer %s", TOKEN, extra={"authorization": f"Bearer {TOKEN}"})
    logger.info("user", extra={"smtp_password": PASSWORD, "note": f"password={PASSWORD}"})
    try:
        raise ValueError(f"bad credentials amqp://guest:{PASSWORD}@localhost/")
    except ValueError:
        logger.exception("broker down")
    text = out.getvalue()
    assert TOKEN not in text
    assert PASSWORD not in text
    first, second, third = parsed(out)
    assert first["authorization"] == "[redacted]"
    assert second["smtp_password"] == "[redacted]"
    assert "ValueError" in third["exception"]


def test_the_text_format_ends_with_the_ids(lines: Any) -> None:
    logger, out, handler = lines
    handler.setFormatter(TextFormatter("upload"))
    with TRACER.start_as_current_span("work") as span, log_scope(job_id="j9", user_id="u9"):
        logger.info("accepted, Bearer %s", TOKEN)
    trace_id = trace.format_trace_id(span.get_span_context().trace_id)
    line = out.getvalue().strip()
    assert " INFO upload tests.logs: accepted, Bearer [redacted]" in line
    assert line.endswith(f"[job=j9 user=u9 trace={trace_id}]")
