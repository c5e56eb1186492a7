"""POSTing one webhook delivery, guarded against SSRF: resolve, check every address, connect to
the checked one (the URL's name kept for Host and TLS), follow no redirect, read 1 KiB at most."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress

import httpx

from mp3converter.contracts import utcnow
from mp3converter.domain.webhook_targets import IPAddress, TargetPolicy, TargetRefused, parse_target
from mp3converter.domain.webhooks import Attempt

log = logging.getLogger(__name__)
MAX_RESPONSE_BYTES = 1024
USER_AGENT = "mp3converter-webhooks/1"
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address a name resolves to (the system resolver), in its order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found


def http_client(timeout_seconds: float, verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The client deliveries go through: no proxies from the environment, no redirects, and no
    kept-alive connections (each is opened to an address checked for that delivery)."""
    return httpx.AsyncClient(
        timeout=timeout_seconds,
        verify=verify,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


class WebhookSender:
    """Sends one attempt and reports it as an Attempt; never raises for the receiver's faults."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        policy: TargetPolicy,
        *,
        timeout_seconds: float = 10.0,
        resolver: Resolver = resolve,
    ) -> None:
        self._http = http
        self._policy = policy
        self._timeout = timeout_seconds
        self._resolve = resolver

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Attempt:
        """POST body to url within the timeout; the outcome, or why it failed."""
        at, started = utcnow(), time.monotonic()
        status, excerpt, error = None, None, None
        try:
            async with asyncio.timeout(self._timeout):
                status, excerpt = await self._post(url, headers, body)
        except TargetRefused as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = f"no answer within {self._timeout:g} s"
        except socket.gaierror as exc:
            error = f"cannot resolve the host: {exc.strerror or exc}"
        except (httpx.HTTPError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        except Exception as exc:  # whatever else an attempt meets, it is a failed attempt
            log.exception("webhook attempt to %s failed unexpectedly", url)
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        if status is not None and 300 <= status < 400:
            error = "redirects are not followed"
        duration_ms = round((time.monotonic() - started) * 1000)
        return Attempt(at, duration_ms, status, error, excerpt)

    async def addresses_for(self, url: str) -> list[IPAddress]:
        """The addresses url may be reached at, all checked; TargetRefused if any is refused
        (a name that resolves to one private address among public ones is refused)."""
        target = parse_target(url)
        try:
            host = httpx.URL(url).raw_host.decode("ascii")
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise TargetRefused(f"the URL is not valid: {exc}") from exc
        if (literal := target.literal_address) is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self._resolve(host, target.port)
            except UnicodeError as exc:
                raise TargetRefused(f"the host name is not valid: {exc}") from exc
        if not addresses:
            raise TargetRefused(f"{target.host} resolves to no address")
        for address in addresses:
            self._policy.check(address)
        return addresses

    async def _post(
        self, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str | None]:
        addresses = await self.addresses_for(url)
        for address in addresses[:-1]:  # the next address when one cannot be connected to
            with suppress(httpx.ConnectError):
                return await self._post_to(address, url, headers, body)
        return await self._post_to(addresses[-1], url, headers, body)

    async def _post_to(
        self, address: IPAddress, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str | None]:
        original = httpx.URL(url)
        extensions = {}
        if original.scheme == "https" and parse_target(url).literal_address is None:
            # TLS verifies the certificate against the name, not the address connected to.
            extensions["sni_hostname"] = original.raw_host.decode("ascii")
        request = self._http.build_request(
            "POST",
            original.copy_with(host=str(address)),
            headers={
                **headers,
                "host": original.netloc.decode("ascii"),
                "user-agent": USER_AGENT,
                "accept-encoding": "identity",  # the bounded read counts bytes on the wire
            },
            content=body,
            extensions=extensions,
        )
        response = await self._http.send(request, stream=True, follow_redirects=False)
        try:
            excerpt = await _read_at_most(response, MAX_RESPONSE_BYTES)
        finally:
            await response.aclose()
        return response.status_code, excerpt


async def _read_at_most(response: httpx.Response, limit: int) -> str | None:
    """The first `limit` bytes of the body as text; the rest is never read."""
    data = b""
    async for chunk in response.aiter_raw():
        data += chunk[: limit - len(data)]
        if len(data) >= limit:
            break
    return data.decode("utf-8", errors="replace") if data else None
