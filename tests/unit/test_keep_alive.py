"""Who closes an idle connection first: always the client side, never the role behind it."""

from __future__ import annotations

from mp3converter.roles.gateway import LIMITS
from mp3converter.web.server import KEEP_ALIVE_SECONDS

NGINX_UPSTREAM_KEEPALIVE_TIMEOUT = 60  # ingress-nginx's default upstream-keepalive-timeout


def test_the_roles_keep_idle_connections_longer_than_their_clients() -> None:
    assert LIMITS.keepalive_expiry is not None
    # The gateway's pool drops a connection before the role would: a request forwarded on a
    # pooled connection never meets one the role has just closed (a 503 otherwise).
    assert LIMITS.keepalive_expiry < KEEP_ALIVE_SECONDS
    assert NGINX_UPSTREAM_KEEPALIVE_TIMEOUT < KEEP_ALIVE_SECONDS
