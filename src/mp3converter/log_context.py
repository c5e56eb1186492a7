"""The ids a log line is about (job, user) and the trace it belongs to, carried by contextvars.

A request or a message opens a `log_scope`; whatever handles it may `bind` more ids (the job id
once it is known), and every line logged meanwhile carries them, with the current span's ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace

# The scope's fields are one dict shared by everything that handles the request or message, so
# an id bound deep inside (even in a copied context: a thread, a task) reaches its last line too.
_scope: ContextVar[dict[str, str] | None] = ContextVar("mp3converter_log_scope", default=None)


@contextmanager
def log_scope(**fields: str | None) -> Iterator[dict[str, str]]:
    """A scope for one unit of work: fields bound inside it end with it."""
    scope = {**(_scope.get() or {}), **_present(fields)}
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def bind(**fields: str | None) -> None:
    """Attach ids to every later line of the current scope (None values are ignored)."""
    scope = _scope.get()
    if scope is None:
        scope = {}
        _scope.set(scope)
    scope.update(_present(fields))


def current_fields() -> dict[str, str]:
    """The bound ids plus `trace_id` and `span_id` of the current span (W3C hex), if any."""
    fields = dict(_scope.get() or {})
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        fields["trace_id"] = trace.format_trace_id(span.trace_id)
        fields["span_id"] = trace.format_span_id(span.span_id)
    return fields


def _present(fields: dict[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value is not None}
