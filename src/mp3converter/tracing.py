"""OpenTelemetry traces: one trace per upload across the roles, carried in W3C `traceparent`
headers over HTTP and in the AMQP headers of every message. Spans are exported (OTLP over HTTP)
only when an endpoint is configured; without one they still give every log line its trace id."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from mp3converter import __version__

# What the propagator writes: these headers are replaced, never passed on from a caller as-is.
TRACE_HEADERS = frozenset({"traceparent", "tracestate", "baggage"})


def tracer() -> trace.Tracer:
    """The platform's tracer (a no-op one until configure_tracing has run)."""
    return trace.get_tracer("mp3converter", __version__)


def traces_endpoint(otlp_endpoint: str) -> str:
    """OTLP/HTTP's traces path under a base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT means it."""
    return f"{otlp_endpoint.rstrip('/')}/v1/traces"


def tracer_provider(role: str, otlp_endpoint: str | None = None) -> TracerProvider:
    """Spans of this role (service `mp3converter-<role>`), exported only to an OTLP endpoint."""
    resource = Resource.create(
        {
            "service.name": f"mp3converter-{role}",
            "service.namespace": "mp3converter",
            "service.version": __version__,
        }
    )
    provider = TracerProvider(resource=resource)
    if otlp_endpoint:
        # Imported only when used; it reads OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, ... itself.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=traces_endpoint(otlp_endpoint))
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(role: str, otlp_endpoint: str | None = None) -> None:
    """Install this process's tracer provider (once; spans end and flush at exit)."""
    trace.set_tracer_provider(tracer_provider(role, otlp_endpoint))


class _HeaderGetter(Getter[Mapping[str, Any]]):
    """Reads trace headers from AMQP headers, whose strings may arrive as bytes."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return list(carrier)


HEADER_GETTER = _HeaderGetter()


def inject(headers: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the current (or given) trace context into headers, replacing any already there."""
    for name in [name for name in headers if name.lower() in TRACE_HEADERS]:
        del headers[name]
    propagate.inject(headers, context=context)


def extract(headers: Mapping[str, Any] | None) -> Context:
    """The trace context a message's or request's headers carry (empty if none)."""
    return propagate.extract(headers or {}, getter=HEADER_GETTER)
