"""Signed download links: genuine, tampered, expired, and keys rotated."""

import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from mp3converter.domain.download_links import (
    DownloadLinks,
    LinkClaims,
    LinkRefusal,
    LinkSigner,
)

NOW = 1_800_000_000
SIGNER = LinkSigner("k2:" + "a" * 40 + ",k1:" + "b" * 40)


def claims_of(query: str) -> LinkClaims:
    parsed = LinkClaims.from_query(dict(parse_qsl(query)))
    assert parsed is not None
    return parsed


def test_a_genuine_link_is_accepted_until_it_expires() -> None:
    claims = claims_of(SIGNER.query("job-1", "ann", NOW + 60))

    assert (claims.owner_id, claims.expires, claims.key_id) == ("ann", NOW + 60, "k2")
    assert SIGNER.check("job-1", claims, NOW) is None
    assert SIGNER.check("job-1", claims, NOW + 60) is LinkRefusal.EXPIRED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: LinkClaims("bob", c.expires, c.key_id, c.signature),
        lambda c: LinkClaims(c.owner_id, c.expires + 3600, c.key_id, c.signature),
        lambda c: LinkClaims(c.owner_id, c.expires, "k1", c.signature),
        lambda c: LinkClaims(c.owner_id, c.expires, "k9", c.signature),
        lambda c: LinkClaims(c.owner_id, c.expires, c.key_id, c.signature[:-1] + "A"),
    ],
    ids=["owner", "expiry", "other-key", "unknown-key", "signature"],
)
def test_any_change_breaks_the_signature(tamper: object) -> None:
    claims = claims_of(SIGNER.query("job-1", "ann", NOW + 60))
    assert callable(tamper)
    assert SIGNER.check("job-1", tamper(claims), NOW) is LinkRefusal.BAD_SIGNATURE
    assert SIGNER.check("job-2", claims, NOW) is LinkRefusal.BAD_SIGNATURE


def test_links_signed_with_an_older_key_still_verify_after_rotation() -> None:
    old = LinkSigner("k1:" + "b" * 40)
    claims = claims_of(old.query("job-1", "ann", NOW + 60))

    assert SIGNER.check("job-1", claims, NOW) is None
    assert LinkSigner("k3:" + "c" * 40).check("job-1", claims, NOW) is LinkRefusal.BAD_SIGNATURE


@pytest.mark.parametrize(
    "query",
    [{}, {"u": "a", "e": "1", "k": "k1"}, {"u": "a", "e": "soon", "k": "k1", "s": "x"}],
)
def test_incomplete_or_malformed_queries_carry_no_claims(query: dict[str, str]) -> None:
    assert LinkClaims.from_query(query) is None


def test_a_link_expires_with_the_mp3_if_that_is_sooner() -> None:
    links = DownloadLinks(SIGNER, "https://mp3converter.com/", 86400)
    mp3_expires = int(time.time()) + 60
    url = urlsplit(links.for_job("job/1", "ann", not_after=mp3_expires))
    later = urlsplit(links.for_job("job/1", "ann", not_after=mp3_expires + 10 * 86400))

    assert (url.scheme, url.netloc, url.path) == ("https", "mp3converter.com", "/download/job%2F1")
    assert claims_of(url.query).expires == mp3_expires
    assert claims_of(later.query).expires <= int(time.time()) + 86400


def test_keys_must_be_named() -> None:
    with pytest.raises(ValueError, match="key_id:secret"):
        LinkSigner("just-a-secret")
