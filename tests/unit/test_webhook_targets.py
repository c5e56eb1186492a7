"""Where webhooks may go: the URL's shape, and which addresses production refuses (SSRF)."""

from __future__ import annotations

import ipaddress

import pytest

from mp3converter.domain.webhook_targets import (
    MAX_URL_LENGTH,
    TargetPolicy,
    TargetRefused,
    address_kind,
    parse_target,
)

PRODUCTION = TargetPolicy(production=True)
DEVELOPMENT = TargetPolicy(production=False)


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port"),
    [
        ("https://example.com/hook", "https", "example.com", 443),
        ("http://example.com:8080/a?b=c", "http", "example.com", 8080),
        ("HTTPS://Example.COM./hook", "https", "example.com", 443),
        ("http://[2606:4700::1111]/hook", "http", "2606:4700::1111", 80),
    ],
)
def test_http_and_https_urls_are_targets(url: str, scheme: str, host: str, port: int) -> None:
    target = parse_target(url)
    assert (target.scheme, target.host, target.port) == (scheme, host, port)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://example.com/", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("https://user:secret@example.com/hook", "credentials"),
        ("https://user@example.com/hook", "credentials"),
        ("https:///hook", "no host"),
        ("https://example.com:0/hook", "port"),
        ("https://example.com:99999/hook", "not valid"),
        ("https://exa mple.com/hook", "spaces or control characters"),
        ("https://example.com/\r\nX-Evil: 1", "spaces or control characters"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "longer than"),
    ],
)
def test_other_urls_are_refused_saying_why(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        parse_target(url)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local (cloud metadata)"),
        ("fe80::1", "link-local (cloud metadata)"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address refused, not bound)
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local (cloud metadata)"),
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local (cloud metadata)"),  # NAT64 of 169.254.169.254
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_addresses_are_classified(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("address", "in_production", "in_development"),
    [
        ("93.184.215.14", True, True),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("10.1.2.3", False, True),
        ("169.254.169.254", False, False),
        ("0.0.0.0", False, False),  # noqa: S104 (an address refused, not bound)
        ("224.0.0.251", False, False),
    ],
)
def test_production_allows_public_addresses_only(
    address: str, in_production: bool, in_development: bool
) -> None:
    ip = ipaddress.ip_address(address)
    assert (PRODUCTION.refusal(ip) is None) is in_production
    assert (DEVELOPMENT.refusal(ip) is None) is in_development


def test_a_refusal_names_the_address_and_what_it_is() -> None:
    assert PRODUCTION.refusal(ipaddress.ip_address("::ffff:10.0.0.1")) == (
        "::ffff:a00:1 (10.0.0.1) is a private address"
    )
    with pytest.raises(TargetRefused, match=r"^169\.254\.169\.254 is a link-local"):
        PRODUCTION.check(ipaddress.ip_address("169.254.169.254"))
