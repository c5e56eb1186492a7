"""Traces across the real RabbitMQ, and spans exported over OTLP/HTTP to a real HTTP server."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import aio_pika
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider

from mp3converter.adapters.rabbitmq import Broker, MessageHandler
from mp3converter.contracts import ConvertVideo, JobSucceeded
from mp3converter.log_context import current_fields
from mp3converter.tracing import configure_tracing, tracer, tracer_provider
from tests.services import AMQP_URL

WAIT_SECONDS = 10.0


@pytest.fixture(scope="module", autouse=True)
def sdk_tracing() -> None:
    """The SDK's provider, as `mp3converter run` installs it (once per process)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        configure_tracing("tests")


def command(job_id: str) -> ConvertVideo:
    return ConvertVideo(job_id=job_id, owner_id="owner-7", video_file_id="0" * 24)


async def handled_in(broker: Broker, queue: str, decode: Any) -> dict[str, Any]:
    """The log fields and the span the handler of the next message on `queue` ran in."""
    seen: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def handle(_: Any) -> None:
        seen.set_result({"fields": current_fields(), "span": trace.get_current_span()})

    subscription = await broker.consume(queue, MessageHandler(decode, handle))
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            return await seen
    finally:
        await subscription.stop()


async def test_a_command_carries_the_publishers_trace_to_its_consumer(broker: Broker) -> None:
    with tracer().start_as_current_span("POST /upload") as request:
        await broker.publish(command("job-traced"))
    seen = await handled_in(broker, broker.topology.convert, ConvertVideo.model_validate_json)

    sent = request.get_span_context()
    fields = seen["fields"]
    assert fields["trace_id"] == f"{sent.trace_id:032x}"
    # The consumer's own span, a grandchild of the request (request > publish > process).
    assert fields["span_id"] != f"{sent.span_id:016x}"
    assert seen["span"].kind is trace.SpanKind.CONSUMER
    assert seen["span"].parent.span_id != sent.span_id
    assert (fields["job_id"], fields["user_id"]) == ("job-traced", "owner-7")


async def test_an_event_published_while_handling_continues_the_same_trace(broker: Broker) -> None:
    # The converter publishes its outcome inside the command's span: notification continues it.
    done = JobSucceeded(
        job_id="job-2",
        owner_id="owner-7",
        owner_email="o@example.com",
        filename="a.mp4",
        duration_seconds=1.0,
        size_bytes=1,
    )

    async def convert(_: ConvertVideo) -> None:
        await broker.publish(done)

    with tracer().start_as_current_span("POST /upload") as request:
        await broker.publish(command("job-2"))
    converting = await broker.consume(
        broker.topology.convert, MessageHandler(ConvertVideo.model_validate_json, convert)
    )
    try:
        seen = await handled_in(
            broker, broker.topology.notification, JobSucceeded.model_validate_json
        )
    finally:
        await converting.stop()
    assert seen["fields"]["trace_id"] == f"{request.get_span_context().trace_id:032x}"
    assert seen["fields"]["job_id"] == "job-2"


async def test_a_message_without_trace_headers_starts_a_trace_of_its_own(broker: Broker) -> None:
    # As a publisher from before tracing (or a tool) sends it: no headers at all.
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(broker.topology.commands)
        body = command("job-untraced").model_dump_json().encode()
        await exchange.publish(aio_pika.Message(body), routing_key=ConvertVideo.ROUTING_KEY)
    seen = await handled_in(broker, broker.topology.convert, ConvertVideo.model_validate_json)
    assert len(seen["fields"]["trace_id"]) == 32
    assert seen["span"].parent is None


class _Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: keeps every POSTed body by path."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    _Collector.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Collector.received
    server.shutdown()


def test_spans_go_to_the_configured_otlp_endpoint(
    collector: tuple[str, list[tuple[str, str, bytes]]],
) -> None:
    endpoint, received = collector
    provider = tracer_provider("converter", endpoint)
    with provider.get_tracer("tests").start_as_current_span("process mp3converter.commands"):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()

    (path, content_type, body) = received[0]
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "mp3converter-converter"
    (span,) = resource_spans.scope_spans[0].spans
    assert span.name == "process mp3converter.commands"
