"""Ports for test and dev servers: outside the kernel's ephemeral range, never given out twice."""

from __future__ import annotations

import socket

import pytest

from mp3converter.devstack import secantus
from mp3converter.devstack.secantus import LOWEST_PORT, free_port


def test_ports_are_below_the_ephemeral_range_and_never_repeat() -> None:
    ceiling = secantus._first_ephemeral_port()
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(LOWEST_PORT <= port < ceiling for port in ports)


def test_a_port_given_out_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_a_port_in_use_or_given_out_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    given = free_port()  # handed out already
    busy = free_port()
    secantus._handed_out.discard(busy)
    with socket.socket() as holder:  # bound by someone else
        holder.bind(("127.0.0.1", busy))
        holder.listen()
        offsets = iter([given - LOWEST_PORT, busy - LOWEST_PORT, busy - LOWEST_PORT + 1])
        monkeypatch.setattr(secantus.secrets, "randbelow", lambda _n: next(offsets))
        assert free_port() == busy + 1
