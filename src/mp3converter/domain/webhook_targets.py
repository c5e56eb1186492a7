"""Where webhooks may be sent: http(s) URLs, and in production only to public addresses (SSRF).

Pure rules: the URL's shape, and whether one IP address may be connected to. Resolving names is
the sender's job (adapters/webhook_sender.py), which checks every address it gets with these.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
SCHEMES = {"http": 80, "https": 443}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052 and 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class TargetRefused(ValueError):
    """A webhook URL, or an address it resolves to, may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked webhook URL, split into what connecting needs."""

    url: str
    scheme: str
    host: str
    port: int

    @property
    def literal_address(self) -> IPAddress | None:
        """The host as an IP address when the URL names one (no name to resolve)."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


@dataclass(frozen=True)
class TargetPolicy:
    """Which addresses webhooks may reach: production allows public ones only; development also
    loopback and private networks, so local tools and containers next to the platform work."""

    production: bool

    def refusal(self, address: IPAddress) -> str | None:
        """Why this address may not be connected to, or None."""
        kind = address_kind(address)
        if kind is None or (not self.production and kind in ("loopback", "private")):
            return None
        inner = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
        shown = f"{address} ({inner})" if inner is not None else str(address)
        return f"{shown} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} address"

    def check(self, address: IPAddress) -> None:
        """Raise TargetRefused unless the address may be connected to."""
        if (why := self.refusal(address)) is not None:
            raise TargetRefused(why)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is what it reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_kind(address: IPAddress) -> str | None:
    """What makes an address non-public ("loopback", "private", ...), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)):
        return address_kind(inner)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata)"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return "private"
    if not address.is_global:
        return "non-public"  # shared address space (100.64.0.0/10), ...
    return None


def parse_target(url: str) -> Target:
    """The URL as a Target if it may be a webhook: http(s), a host, no credentials, bounded."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise TargetRefused("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL is not valid: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise TargetRefused("the URL must be http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL must not carry credentials (user:password@)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("the URL has no host")
    if port == 0:
        raise TargetRefused("the URL's port must be 1 to 65535")
    return Target(url=url, scheme=scheme, host=host, port=port or SCHEMES[scheme])
