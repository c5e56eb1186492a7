"""Trace context in headers: written as W3C traceparent, read back from AMQP or HTTP headers."""

from __future__ import annotations

import re

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from mp3converter.tracing import extract, inject, tracer_provider, traces_endpoint

TRACER = TracerProvider().get_tracer("tests")
# A caller's own trace (the W3C spec's example).
CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def test_inject_writes_the_current_span_as_traceparent() -> None:
    headers: dict[str, str] = {}
    with TRACER.start_as_current_span("publish") as span:
        inject(headers)
    match = TRACEPARENT.match(headers["traceparent"])
    assert match is not None, headers
    context = span.get_span_context()
    assert match.groups() == (f"{context.trace_id:032x}", f"{context.span_id:016x}")


def test_inject_replaces_trace_headers_a_caller_sent_in_any_case() -> None:
    headers = {"Traceparent": CALLER, "TraceState": "vendor=x", "accept": "*/*"}
    with TRACER.start_as_current_span("hop"):
        inject(headers)
    assert set(headers) == {"traceparent", "accept"}
    assert headers["traceparent"] != CALLER


def test_inject_outside_any_span_writes_nothing() -> None:
    headers: dict[str, str] = {}
    inject(headers)
    assert headers == {}


def test_extract_continues_the_trace_of_amqp_headers_as_str_or_bytes() -> None:
    for value in (CALLER, CALLER.encode()):
        context = extract({"traceparent": value, "x-delivery-count": 2})
        parent = trace.get_current_span(context).get_span_context()
        assert parent.is_remote
        assert f"{parent.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
        with TRACER.start_as_current_span("process", context=context) as child:
            assert child.get_span_context().trace_id == parent.trace_id
            assert child.get_span_context().span_id != parent.span_id


def test_a_round_trip_keeps_the_trace() -> None:
    headers: dict[str, str] = {}
    with TRACER.start_as_current_span("producer") as producer:
        inject(headers)
    with TRACER.start_as_current_span("consumer", context=extract(headers)) as consumer:
        pass
    assert consumer.get_span_context().trace_id == producer.get_span_context().trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.get_span_context().span_id


def test_missing_or_malformed_headers_start_no_trace() -> None:
    for headers in (None, {}, {"traceparent": "garbage"}, {"traceparent": 42}):
        context = extract(headers)
        assert not trace.get_current_span(context).get_span_context().is_valid


def test_spans_are_exported_only_when_an_endpoint_is_set() -> None:
    assert traces_endpoint("http://collector:4318/") == "http://collector:4318/v1/traces"
    quiet = tracer_provider("converter")
    assert quiet.resource.attributes["service.name"] == "mp3converter-converter"
    assert not quiet._active_span_processor._span_processors
    exporting = tracer_provider("converter", "http://127.0.0.1:4318")
    (processor,) = exporting._active_span_processor._span_processors
    assert type(processor).__name__ == "BatchSpanProcessor"
    exporting.shutdown()
