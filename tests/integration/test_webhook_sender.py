"""The webhook sender against real HTTP(S) servers on loopback: what one attempt reads, follows,
waits for and verifies."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mp3converter.adapters.webhook_sender import MAX_RESPONSE_BYTES, WebhookSender, http_client
from mp3converter.devstack.secantus import free_port
from mp3converter.domain.webhook_targets import TargetPolicy
from tests.webhook_receiver import webhook_receiver

BODY = b'{"type":"webhook.test"}'
HEADERS = {"webhook-id": "msg_1", "content-type": "application/json"}


@contextlib.asynccontextmanager
async def sender(
    timeout: float = 5.0, verify: ssl.SSLContext | bool = True
) -> AsyncIterator[WebhookSender]:
    """A development sender (loopback allowed) over the client the role uses."""
    async with http_client(timeout, verify) as http:
        yield WebhookSender(http, TargetPolicy(production=False), timeout_seconds=timeout)


async def test_an_attempt_posts_the_body_with_the_urls_host() -> None:
    async with webhook_receiver([204]) as receiver, sender() as send:
        attempt = await send.post(receiver.url(), HEADERS, BODY)

    (received,) = receiver.received
    assert attempt.succeeded
    assert attempt.status_code == 204
    assert attempt.error is None
    assert received.body == BODY
    assert received.headers["host"] == receiver.base.removeprefix("http://")
    assert received.headers["webhook-id"] == "msg_1"
    assert received.headers["accept-encoding"] == "identity"
    assert received.headers["user-agent"].startswith("mp3converter-webhooks/")


async def test_a_redirect_is_a_failure_and_is_not_followed() -> None:
    async with webhook_receiver() as receiver, sender() as send:
        attempt = await send.post(receiver.url("/redirect"), HEADERS, BODY)

    assert [r.path for r in receiver.received] == ["/redirect"]
    assert attempt.status_code == 307
    assert not attempt.succeeded
    assert attempt.error == "redirects are not followed"


async def test_no_more_than_a_kibibyte_of_an_answer_is_read() -> None:
    async with webhook_receiver() as receiver, sender(timeout=5.0) as send:
        attempt = await send.post(receiver.url("/endless"), HEADERS, BODY)

    assert attempt.succeeded  # the endless body was not waited for
    assert attempt.response_body == "x" * MAX_RESPONSE_BYTES
    assert attempt.duration_ms < 5000


async def test_an_answer_past_the_timeout_is_a_failure() -> None:
    async with webhook_receiver() as receiver, sender(timeout=0.5) as send:
        attempt = await send.post(receiver.url("/slow"), HEADERS, BODY)

    assert len(receiver.received) == 1
    assert attempt.status_code is None
    assert attempt.error == "no answer within 0.5 s"
    assert 400 <= attempt.duration_ms < 3000


async def test_connection_and_resolution_errors_are_failures() -> None:
    async with sender() as send:
        refused = await send.post(f"http://127.0.0.1:{free_port()}/hook", HEADERS, BODY)
        unknown = await send.post("http://no-such-host.invalid/hook", HEADERS, BODY)

    assert refused.error is not None
    assert refused.error.startswith("ConnectError")
    assert unknown.error is not None
    assert unknown.error.startswith("cannot resolve the host")


def _certificate_for_localhost(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate valid for the name `localhost` only (not for 127.0.0.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextlib.asynccontextmanager
async def https_receiver(tmp: Path) -> AsyncIterator[tuple[int, list[str], ssl.SSLContext]]:
    """An HTTPS server on 127.0.0.1 with a certificate for `localhost`; the Host headers it
    got; a client context that trusts that certificate."""
    cert_file, key_file = _certificate_for_localhost(tmp)
    hosts: list[str] = []

    async def hook(request: Request) -> Response:
        hosts.append(request.headers["host"])
        return PlainTextResponse("ok")

    port = free_port()
    config = uvicorn.Config(
        Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield port, hosts, ssl.create_default_context(cafile=str(cert_file))
    finally:
        server.should_exit = True
        await task


async def test_https_is_verified_against_the_urls_name_on_the_checked_address(
    tmp_path: Path,
) -> None:
    async with https_receiver(tmp_path) as (port, hosts, trusted), sender(verify=trusted) as send:
        by_name = await send.post(f"https://localhost:{port}/hook", HEADERS, BODY)
        by_address = await send.post(f"https://127.0.0.1:{port}/hook", HEADERS, BODY)

    assert by_name.status_code == 200, by_name.error
    assert hosts == [f"localhost:{port}"]
    # The certificate names localhost only: the name, not the address, was verified above.
    assert by_address.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in by_address.error


async def test_production_refuses_loopback_before_connecting() -> None:
    async with webhook_receiver() as receiver, http_client(5.0) as http:
        production = WebhookSender(http, TargetPolicy(production=True))
        attempt = await production.post(receiver.url(), HEADERS, BODY)

    assert receiver.received == []
    assert attempt.error == "refused: 127.0.0.1 is a loopback address"
