"""Log lines: one per event, as JSON (default) or text, with the role, the job and user they are
about and the trace they belong to; credentials are masked before anything is written."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from mp3converter.log_context import current_fields

LogFormat = Literal["json", "text"]
REDACTED = "[redacted]"
# What a credential looks like wherever it turns up in a message or a traceback.
SECRET_PATTERNS = (
    (re.compile(r"\b(Bearer|Basic)\s+[^\s,;\"']+", re.IGNORECASE), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), REDACTED),  # a JWT
    (re.compile(r"\b(mp3c|whsec)_[\w-]+"), rf"\1_{REDACTED}"),  # API keys, webhook secrets
    # user:password@ in URLs. The scheme is at most 32 characters: an unbounded `\w+://` was
    # quadratic in the length of a client's path.
    (re.compile(r"\b([a-zA-Z][\w+.-]{0,31}://)[^/\s:@]+:[^/\s@]*@"), rf"\1{REDACTED}@"),
    (
        re.compile(
            r"\b(password|passwd|secret|token|access_token|refresh_token|authorization|api_key)"
            r"(\"?'?\s*[:=]\s*\"?'?)[^\s\"',&;]+",
            re.IGNORECASE,
        ),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"([?&]s=)[^&\s\"']+"), rf"\1{REDACTED}"),  # the signature of a download link
)
# Text holding none of these (lower-cased) cannot match a pattern above: most lines skip them all.
SECRET_MARKERS = (
    "bearer",
    "basic",
    "eyj",
    "mp3c_",
    "whsec_",
    "://",
    "passw",
    "secret",
    "token",
    "authorization",
    "api_key",
    "?s=",
    "&s=",
)
SECRET_FIELD = re.compile(r"authorization|password|passwd|secret|token|cookie|api_key", re.I)
# Attributes every LogRecord has; anything else on a record came from `extra=`.
RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "context",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
# The ids a text line ends with, and their short names there.
TEXT_IDS = (("job_id", "job"), ("user_id", "user"), ("trace_id", "trace"))


def redact(text: str) -> str:
    """The text with every credential it holds masked."""
    lowered = text.lower()
    if not any(marker in lowered for marker in SECRET_MARKERS):
        return text
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ContextFilter(logging.Filter):
    """Stamps each record with the ids of the scope it was logged in (log_context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Never drops a record; only adds `record.context`."""
        if not hasattr(record, "context"):
            record.context = current_fields()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, role, logger, message, the scope's ids, extras."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "role": self.role,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(getattr(record, "context", {}))
        for name, value in vars(record).items():
            if name not in RECORD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = REDACTED if SECRET_FIELD.search(name) else _plain(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A line for people (`make run`): time, level, role, logger, message, then the ids."""

    def __init__(self, role: str) -> None:
        super().__init__(f"%(asctime)s %(levelname)s {role} %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The usual text line, credentials masked, the scope's ids in brackets at the end."""
        context: dict[str, str] = getattr(record, "context", {})
        ids = " ".join(f"{short}={context[name]}" for name, short in TEXT_IDS if name in context)
        line = redact(super().format(record))
        return f"{line} [{ids}]" if ids else line


def _plain(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def configure_logging(level: str, role: str, log_format: LogFormat = "json") -> None:
    """Send logs to stderr in the chosen format; quiet the chattiest libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter(role) if log_format == "json" else TextFormatter(role))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings become lines in the same format
    for noisy in ("aiormq", "aio_pika", "pymongo", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
