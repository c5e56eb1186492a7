"""A readiness probe for container health checks: no curl in the image, only this package."""

from __future__ import annotations

import http.client

PROBE_TIMEOUT_SECONDS = 3.0


def is_ready(port: int, host: str = "127.0.0.1") -> bool:
    """Whether GET /readyz on host:port answers 200."""
    connection = http.client.HTTPConnection(host, port, timeout=PROBE_TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()
