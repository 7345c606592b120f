"""The CSRF check must see the same cookies the request handler sees: a request with two ``Cookie``
headers (the session in the first, Litestar's choice, and a harmless one in the second) must not slip
past the check. Raw HTTP over a real socket to uvicorn, the real app on SQLite."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from api.conftest import make_settings
from live_accounts import PASSWORD
from robustness.live_server import serve_in_thread
from robustness.real_app import migrated, real_adapters

from entrypoints.http.app import create_app
from entrypoints.http.auth import SESSION_COOKIE


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cutout.db'}"
    asyncio.run(migrated(database_url))
    with serve_in_thread(create_app(make_settings(tmp_path), real_adapters(database_url))) as base:
        yield base


def raw_request(base: str, head_lines: list[str], body: bytes) -> tuple[int, bytes]:
    """Send one request exactly as written (duplicate headers included); the status and the whole answer."""
    url = urlsplit(base)
    head = "\r\n".join([*head_lines, f"Host: {url.netloc}", f"Content-Length: {len(body)}", "Connection: close"])
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def session_of(base: str, email: str) -> str:
    with httpx.Client(base_url=base, timeout=30) as browser:
        signup = browser.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        return browser.cookies[SESSION_COOKIE]


def test_two_cookie_headers_without_a_csrf_token_are_refused(server: str) -> None:
    session = f"Cookie: {SESSION_COOKIE}={session_of(server, 'two-cookies@example.com')}"
    lines = ["POST /api/v1/api-keys HTTP/1.1", "Content-Type: application/json", session, "Cookie: theme=dark"]
    status, answer = raw_request(server, lines, b'{"name": "forged"}')
    assert status == 403 and b"csrf_failed" in answer, answer


def test_a_session_in_the_second_cookie_header_is_not_seen_by_anyone(server: str) -> None:
    session = f"Cookie: {SESSION_COOKIE}={session_of(server, 'second-cookie@example.com')}"
    lines = ["POST /api/v1/api-keys HTTP/1.1", "Content-Type: application/json", "Cookie: theme=dark", session]
    status, answer = raw_request(server, lines, b'{"name": "forged"}')
    assert status == 401 and b"unauthorized" in answer, answer


def test_an_empty_api_key_header_does_not_skip_the_check_for_a_cookie(server: str) -> None:
    """The handler takes the first ``X-Api-Key``; an empty one means "none", so the session cookie decides,
    and then the CSRF check must run, whatever a second ``X-Api-Key`` says."""
    session = f"Cookie: {SESSION_COOKIE}={session_of(server, 'empty-key@example.com')}"
    lines = ["POST /api/v1/api-keys HTTP/1.1", "Content-Type: application/json", session, "X-Api-Key: ", "X-Api-Key: x"]
    status, answer = raw_request(server, lines, b'{"name": "forged"}')
    assert status == 403 and b"csrf_failed" in answer, answer
