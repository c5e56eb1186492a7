"""The sender's SSRF guard with a fake resolver (a name that changes its answer) and a fake
transport that records what would be sent: every address is checked at each attempt, and the
connection goes to the checked address with the URL's name for Host and TLS."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from mp3converter.adapters.webhook_sender import WebhookSender
from mp3converter.domain.webhook_targets import IPAddress, TargetPolicy

PUBLIC = ipaddress.ip_address("93.184.215.14")


class Rebinding:
    """A DNS name whose answer a test changes (public at registration, private later)."""

    def __init__(self, *answers: str) -> None:
        self.answers = [ipaddress.ip_address(a) for a in answers]
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append((host, port))
        return list(self.answers)


def recording_client(sent: list[httpx.Request], status: int = 200) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(status, stream=httpx.ByteStream(b"ok"))

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def test_a_name_that_now_resolves_to_a_private_address_is_refused() -> None:
    sent: list[httpx.Request] = []
    resolver = Rebinding(str(PUBLIC))
    async with recording_client(sent) as http:
        sender = WebhookSender(http, TargetPolicy(production=True), resolver=resolver)
        at_registration = await sender.addresses_for("https://hooks.example.com/in")
        resolver.answers = [ipaddress.ip_address("10.0.0.7")]
        later = await sender.post("https://hooks.example.com/in", {}, b"{}")

    assert at_registration == [PUBLIC]
    assert later.error == "refused: 10.0.0.7 is a private address"
    assert later.status_code is None
    assert sent == []  # never connected
    assert resolver.asked == [("hooks.example.com", 443)] * 2


async def test_one_private_answer_among_public_ones_refuses_the_name() -> None:
    sent: list[httpx.Request] = []
    resolver = Rebinding(str(PUBLIC), "169.254.169.254")
    async with recording_client(sent) as http:
        sender = WebhookSender(http, TargetPolicy(production=True), resolver=resolver)
        attempt = await sender.post("http://hooks.example.com/in", {}, b"{}")

    assert attempt.error is not None
    assert "169.254.169.254 is a link-local (cloud metadata) address" in attempt.error
    assert sent == []


async def test_the_connection_goes_to_the_checked_address_with_the_names_host_and_sni() -> None:
    sent: list[httpx.Request] = []
    async with recording_client(sent, status=202) as http:
        sender = WebhookSender(http, TargetPolicy(production=True), resolver=Rebinding(str(PUBLIC)))
        attempt = await sender.post(
            "https://hooks.example.com:8443/in?x=1", {"webhook-id": "msg_1"}, b'{"a":1}'
        )

    assert attempt.succeeded
    (request,) = sent
    assert request.url == httpx.URL(f"https://{PUBLIC}:8443/in?x=1")
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.headers["webhook-id"] == "msg_1"
    assert request.content == b'{"a":1}'


async def test_an_ip_literal_is_checked_without_resolving() -> None:
    resolver = Rebinding()
    async with recording_client([]) as http:
        sender = WebhookSender(http, TargetPolicy(production=True), resolver=resolver)
        attempt = await sender.post("http://[::ffff:127.0.0.1]:80/in", {}, b"{}")

    assert attempt.error == "refused: ::ffff:7f00:1 (127.0.0.1) is a loopback address"
    assert resolver.asked == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_a_failed_attempt(status: int) -> None:
    sent: list[httpx.Request] = []
    async with recording_client(sent, status=status) as http:
        sender = WebhookSender(http, TargetPolicy(production=True), resolver=Rebinding(str(PUBLIC)))
        attempt = await sender.post("http://hooks.example.com/in", {}, b"{}")

    assert len(sent) == 1
    assert not attempt.succeeded
    assert attempt.error == "redirects are not followed"


async def test_a_host_that_cannot_be_a_name_is_refused_not_crashed_on() -> None:
    async with recording_client([]) as http:
        sender = WebhookSender(http, TargetPolicy(production=False))
        attempt = await sender.post("http://" + "a" * 70 + ".example.com/in", {}, b"{}")

    assert attempt.error is not None
    assert attempt.error.startswith("refused: the host name is not valid")
