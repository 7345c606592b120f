"""Contract tests for ``SafeUrlFetcher`` against a real HTTP server on 127.0.0.1.

Traffic only ever goes to that loopback server: the SSRF cases replace ``anyio.connect_tcp``
with a spy, so a refused URL that reached the network would be caught, not sent.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest
from PIL import Image

from adapters.url_fetcher import MAX_REDIRECTS, SafeUrlFetcher, is_public_address
from domain.errors import FileTooLarge, UrlFetchFailed, UrlNotAllowed

LOOPBACK = ipaddress.ip_address("127.0.0.1")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()
LARGE = bytes(range(256)) * 256  # 64 KiB
# The slow answers take this long unless the fetcher gives up first; the tests allow half of it, so a
# busy machine cannot fail them and a fetcher that waited for the server cannot pass them.
HANG_SECONDS = 30.0
_released = threading.Event()  # set when the module's server stops, so no handler outlives it


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/image":
            self._send(200, PNG, content_type="image/png")
        elif url.path == "/headers":
            seen = f"{self.headers['Host']}|{self.headers['User-Agent']}"
            self._send(200, seen.encode())
        elif url.path == "/redirect":
            self._redirect(query["to"][0])
        elif url.path.startswith("/hops/"):
            left = int(url.path.removeprefix("/hops/"))
            self._redirect(f"/hops/{left - 1}") if left else self._send(200, PNG)
        elif url.path == "/large":
            # No Content-Length: the fetcher has to count while streaming.
            self.send_response(200)
            self.end_headers()
            for start in range(0, len(LARGE), 4096):
                self.wfile.write(LARGE[start : start + 4096])
        elif url.path == "/lying-length":
            self.send_response(200)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            self.wfile.write(b"tiny")
            self.wfile.flush()
            _released.wait(HANG_SECONDS)  # keeps the connection open: only the header can end the fetch early
        elif url.path == "/slow":
            _released.wait(HANG_SECONDS)
            self._send(200, PNG)
        elif url.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "60")
            self.end_headers()
            for _ in range(60):  # a byte every half second: never a read timeout, 30 s in all
                self.wfile.write(b"x")
                self.wfile.flush()
                if _released.wait(HANG_SECONDS / 60):
                    return
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the fetcher hangs up on slow and oversized responses on purpose


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _released.clear()
    yield server.server_address[1]
    _released.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def fetcher() -> SafeUrlFetcher:
    """Allows exactly 127.0.0.1, with short limits so failures are quick."""
    return SafeUrlFetcher(
        address_allowed=lambda address: address == LOOPBACK,
        connect_timeout=2,
        read_timeout=2,
        total_timeout=10,
    )


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every TCP connect and lets none through."""
    attempts: list[str] = []

    async def refuse(remote_host: str, remote_port: int, **kwargs: object) -> None:
        attempts.append(f"{remote_host}:{remote_port}")
        raise OSError("connect blocked by the test")

    monkeypatch.setattr(anyio, "connect_tcp", refuse)
    return attempts


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names in the returned dict resolve to its addresses; anything else goes to the real resolver."""
    answers: dict[str, list[str]] = {}
    real_getaddrinfo = anyio.getaddrinfo

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[tuple]:
        if host not in answers:
            return await real_getaddrinfo(host, port, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in answers[host]]

    monkeypatch.setattr(anyio, "getaddrinfo", getaddrinfo)
    return answers


# --- success and HTTP failures, with a policy allowing 127.0.0.1 --------------------------------


async def test_returns_the_exact_bytes(fetcher: SafeUrlFetcher, base: str) -> None:
    assert await fetcher.fetch(f"{base}/image", max_bytes=10_000) == PNG


async def test_a_body_of_exactly_max_bytes_is_accepted(fetcher: SafeUrlFetcher, base: str) -> None:
    assert await fetcher.fetch(f"{base}/image", max_bytes=len(PNG)) == PNG


async def test_sends_the_user_agent_and_host(fetcher: SafeUrlFetcher, base: str, port: int) -> None:
    assert await fetcher.fetch(f"{base}/headers", max_bytes=1000) == f"127.0.0.1:{port}|Cutout/0.1".encode()


async def test_ignores_proxy_environment_variables(
    fetcher: SafeUrlFetcher, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://10.255.255.1:3128")
    assert await fetcher.fetch(f"{base}/image", max_bytes=10_000) == PNG


@pytest.mark.parametrize("location", ["image", "/image", "./image?x=1", "http://127.0.0.1:{port}/image"])
async def test_follows_redirects(fetcher: SafeUrlFetcher, base: str, port: int, location: str) -> None:
    to = urllib.parse.quote(location.format(port=port), safe="")
    assert await fetcher.fetch(f"{base}/redirect?to={to}", max_bytes=10_000) == PNG


async def test_follows_up_to_the_redirect_limit(fetcher: SafeUrlFetcher, base: str) -> None:
    assert await fetcher.fetch(f"{base}/hops/{MAX_REDIRECTS}", max_bytes=10_000) == PNG


async def test_too_many_redirects_fail(fetcher: SafeUrlFetcher, base: str) -> None:
    with pytest.raises(UrlFetchFailed):
        await fetcher.fetch(f"{base}/hops/{MAX_REDIRECTS + 1}", max_bytes=10_000)


async def test_not_found_fails_with_the_status(fetcher: SafeUrlFetcher, base: str) -> None:
    with pytest.raises(UrlFetchFailed) as caught:
        await fetcher.fetch(f"{base}/missing", max_bytes=10_000)
    assert caught.value.code == "url_fetch_failed"
    assert caught.value.details["status"] == 404


async def test_a_streamed_body_over_the_limit_is_too_large(fetcher: SafeUrlFetcher, base: str) -> None:
    with pytest.raises(FileTooLarge) as caught:
        await fetcher.fetch(f"{base}/large", max_bytes=1000)
    assert caught.value.code == "file_too_large"


async def test_a_declared_length_over_the_limit_is_refused_without_reading(fetcher: SafeUrlFetcher, base: str) -> None:
    started = time.monotonic()
    with pytest.raises(FileTooLarge):
        await fetcher.fetch(f"{base}/lying-length", max_bytes=10_000)
    assert time.monotonic() - started < HANG_SECONDS / 2


async def test_one_byte_over_the_limit_is_too_large(fetcher: SafeUrlFetcher, base: str) -> None:
    with pytest.raises(FileTooLarge):
        await fetcher.fetch(f"{base}/image", max_bytes=len(PNG) - 1)


async def test_a_slow_response_hits_the_read_timeout(fetcher: SafeUrlFetcher, base: str) -> None:
    started = time.monotonic()
    with pytest.raises(UrlFetchFailed):
        await fetcher.fetch(f"{base}/slow", max_bytes=10_000)
    assert time.monotonic() - started < HANG_SECONDS / 2


async def test_a_trickling_response_hits_the_total_deadline(base: str) -> None:
    fetcher = SafeUrlFetcher(address_allowed=lambda address: address == LOOPBACK, read_timeout=5, total_timeout=3)
    started = time.monotonic()
    with pytest.raises(UrlFetchFailed):
        await fetcher.fetch(f"{base}/trickle", max_bytes=10_000)
    assert time.monotonic() - started < HANG_SECONDS / 2


async def test_a_refused_connection_fails(fetcher: SafeUrlFetcher) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(UrlFetchFailed):
        await fetcher.fetch(f"http://127.0.0.1:{port}/", max_bytes=10_000)


# --- SSRF ----------------------------------------------------------------------------------------

SSRF_URLS = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://[::1]:{port}/",
    "http://2130706433:{port}/",
    "http://127.1:{port}/",
    "http://0x7f.1:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://[2002:7f00:1::]/",
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://x",
    "http://user:pw@127.0.0.1/",
    "http://@127.0.0.1/",
    "http:///path-only",
    "http://[::1/",
    "http://127.0.0.1:99999/",
    "not a url",
]


@pytest.mark.parametrize("url", SSRF_URLS)
async def test_refuses_non_public_and_non_http_urls_before_connecting(url: str, port: int, connects: list[str]) -> None:
    with pytest.raises(UrlNotAllowed) as caught:
        await SafeUrlFetcher().fetch(url.format(port=port), max_bytes=10_000)
    assert caught.value.code == "url_not_allowed"
    assert connects == []


@pytest.mark.parametrize(
    "location", ["http://127.0.0.2:{port}/image", "http://10.0.0.1/", "ftp://127.0.0.1/image", "file:///etc/passwd"]
)
async def test_a_redirect_to_a_refused_url_is_not_followed(
    fetcher: SafeUrlFetcher, base: str, port: int, location: str
) -> None:
    to = urllib.parse.quote(location.format(port=port), safe="")
    with pytest.raises(UrlNotAllowed):
        await fetcher.fetch(f"{base}/redirect?to={to}", max_bytes=10_000)


async def test_a_name_is_checked_by_the_addresses_it_resolves_to(
    fake_dns: dict[str, list[str]], connects: list[str]
) -> None:
    fake_dns["internal.test"] = ["10.0.0.1"]
    with pytest.raises(UrlNotAllowed):
        await SafeUrlFetcher().fetch("http://internal.test/", max_bytes=10_000)
    assert connects == []


async def test_one_refused_address_among_the_answers_refuses_the_name(
    fake_dns: dict[str, list[str]], connects: list[str]
) -> None:
    fake_dns["mixed.test"] = ["127.0.0.1", "10.0.0.1"]
    fetcher = SafeUrlFetcher(address_allowed=lambda address: address == LOOPBACK)
    with pytest.raises(UrlNotAllowed):
        await fetcher.fetch("http://mixed.test/", max_bytes=10_000)
    assert connects == []


async def test_connects_to_the_checked_address_and_keeps_the_host_name(
    fetcher: SafeUrlFetcher, fake_dns: dict[str, list[str]], port: int
) -> None:
    fake_dns["images.test"] = ["127.0.0.1"]
    assert await fetcher.fetch(f"http://images.test:{port}/headers", max_bytes=1000) == (
        f"images.test:{port}|Cutout/0.1".encode()
    )


# --- the default address policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700::1111", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),
        ("2002:808:808::1", True),
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.255", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::127.0.0.1", False),
        ("2002:7f00:1::", False),
        ("2002:a00:1::", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("64:ff9b::7f00:1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public
