"""Slow and greedy clients against the server `cutout serve` runs (`entrypoints.server.server_config`,
started here in a thread on a socket of the test, with the real app on SQLite): an oversized request
head gets 431 and the connection closed, a head that stops half-way is closed after the header
timeout, so is a body that stops, and one address cannot hold more than its share of connections
while other clients are still served."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from api.conftest import make_settings
from e2e.test_server import server_env, serving
from robustness.live_server import serve_in_thread
from robustness.real_app import migrated, real_adapters

from entrypoints.http.app import create_app
from entrypoints.server import server_config

GENEROUS = 10  # times the timeout a test lets the server take to act


@contextlib.contextmanager
def cutout_server(tmp_path: Path, **env: str) -> Iterator[tuple[str, int]]:
    """The app on the server `cutout serve` runs (its connection limits), in a thread; yields its address."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cutout.db'}"
    asyncio.run(migrated(database_url))
    settings = make_settings(tmp_path, **env)
    app = create_app(settings, real_adapters(database_url))
    config = server_config(settings, app, lifespan="on", log_level="warning", access_log=False)
    with serve_in_thread(app, config) as base:
        url = urlsplit(base)
        yield url.hostname or "127.0.0.1", url.port or 80


def connect(address: tuple[str, int], source: str = "127.0.0.1", timeout: float = 30) -> socket.socket:
    return socket.create_connection(address, timeout=timeout, source_address=(source, 0))


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closing)."""
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def get(sock: socket.socket, path: str = "/health/live") -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: cutout\r\nConnection: close\r\n\r\n".encode())
    return read_until_closed(sock)


def test_an_oversized_request_head_is_431_and_closed(tmp_path: Path) -> None:
    with cutout_server(tmp_path) as address:
        with connect(address) as sock:  # 40 KB in one write: read whole, so the 431 arrives before the close
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: cutout\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n")
            answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]

        with connect(address) as sock:  # 1 MB: refused before it is all read (the close may come as a reset)
            head = b"GET /health/live HTTP/1.1\r\nHost: cutout\r\nCookie: " + b"a" * 1_000_000 + b"\r\n\r\n"
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(head)
            answer = read_until_closed(sock)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]

        with connect(address) as sock:  # the server still answers ordinary requests
            assert get(sock).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /health/live HTTP/1.1\r\nHost: cutout\r\n"],
    ids=["nothing", "half a head"],
)
def test_a_request_head_that_does_not_arrive_is_closed_after_the_header_timeout(tmp_path: Path, sent: bytes) -> None:
    with (
        cutout_server(tmp_path, CUTOUT_HEADER_TIMEOUT_SECONDS="0.5") as address,
        connect(address, timeout=0.5 * GENEROUS) as sock,
    ):
        sock.sendall(sent)
        assert read_until_closed(sock) == b""  # a socket.timeout here fails the test: never closed


def test_a_trickled_head_is_closed_after_the_header_timeout(tmp_path: Path) -> None:
    """Slowloris: a byte now and then resets uvicorn's keep-alive timer, not the header timeout."""
    with cutout_server(tmp_path, CUTOUT_HEADER_TIMEOUT_SECONDS="1") as address, connect(address) as sock:
        closed = threading.Event()

        def trickle() -> None:
            with contextlib.suppress(OSError):
                for byte in b"GET /health/live HTTP/1.1\r\nHost: cutout\r\nX-A: " + b"a" * 1000:
                    if closed.wait(0.1):
                        return
                    sock.send(bytes([byte]))

        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        sock.settimeout(GENEROUS)
        try:
            assert read_until_closed(sock) == b""
        finally:
            closed.set()
            sender.join(timeout=GENEROUS)


def test_a_body_that_stops_is_closed_after_the_body_timeout(tmp_path: Path) -> None:
    with cutout_server(tmp_path, CUTOUT_BODY_TIMEOUT_SECONDS="0.5") as address:
        with connect(address, timeout=0.5 * GENEROUS) as sock:
            sock.sendall(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: cutout\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"email": "slow'
            )
            answer = read_until_closed(sock)  # a socket.timeout here fails the test: never closed
        assert b" 200 " not in answer[:20], answer


def test_one_address_cannot_hold_more_connections_than_its_cap(tmp_path: Path) -> None:
    with cutout_server(tmp_path, CUTOUT_MAX_CONNECTIONS_PER_ADDRESS="3") as address:
        kept = [connect(address) for _ in range(3)]
        try:
            with connect(address) as refused:
                assert read_until_closed(refused) == b""  # closed at once, nothing said
            with connect(address, source="127.0.0.2") as other:  # another client is served meanwhile
                assert get(other).startswith(b"HTTP/1.1 200 ")
            for sock in kept:  # and the first three were kept open: each still gets its answer
                assert get(sock).startswith(b"HTTP/1.1 200 ")
        finally:
            for sock in kept:
                sock.close()
        with connect(address) as again:  # once they are gone, the address may connect again
            assert get(again).startswith(b"HTTP/1.1 200 ")


@pytest.mark.model
def test_cutout_serve_applies_the_limits(tmp_path: Path) -> None:
    env = server_env(tmp_path, CUTOUT_HEADER_TIMEOUT_SECONDS="1", CUTOUT_MAX_HEADER_BYTES="4096")
    with serving(env):
        address = ("127.0.0.1", int(env["CUTOUT_PORT"]))
        with connect(address) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: cutout\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n")
            assert read_until_closed(sock).startswith(b"HTTP/1.1 431 ")
        with connect(address, timeout=GENEROUS) as sock:
            assert read_until_closed(sock) == b""  # silent: closed after the header timeout
        with connect(address) as sock:
            assert get(sock).startswith(b"HTTP/1.1 200 ")
