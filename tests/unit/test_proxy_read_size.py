"""The gateway's larger upstream reads rely on a class attribute of httpcore's HTTP/1.1
connection; an httpcore that stops reading it would silently undo them."""

import inspect

import httpcore

from mp3converter.web.proxy import PROXY_READ_BYTES


def test_httpcore_reads_upstream_bodies_in_the_size_the_gateway_sets() -> None:
    assert httpcore.AsyncHTTP11Connection.READ_NUM_BYTES == PROXY_READ_BYTES
    receive = httpcore.AsyncHTTP11Connection._receive_event
    assert "self.READ_NUM_BYTES" in inspect.getsource(receive)
