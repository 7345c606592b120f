"""The SSRF matrix: URLs a server must refuse to fetch, as data, for every user-supplied URL (``image_url``
today, ``callback_url`` with the job queue).

``SsrfNetwork`` stands in for the network while a case runs. Names resolve from its table (or, like
``localhost``, from the real resolver); the only TCP connection it lets through is to ``PUBLIC_ADDRESS``
port 80, which it hands to a loopback server playing a public web server that serves an image and
redirects wherever a case says. Every other connection attempt is recorded and refused, so a URL that
slips through the checks is caught without a packet leaving the machine.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest

PUBLIC_ADDRESS = "93.184.215.14"  # a globally routable address; the test network answers it from loopback
PUBLIC_HOST = "public.test"


@dataclass(frozen=True)
class SsrfCase:
    """A URL to refuse, and what names resolve to while it is tried."""

    id: str
    url: str
    dns: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.id


def redirect(to: str) -> str:
    return f"http://{PUBLIC_HOST}/redirect?to={urllib.parse.quote(to, safe='')}"


def _cases() -> list[SsrfCase]:
    direct = {
        # loopback and "this host", in every spelling
        "loopback": "http://127.0.0.1/",
        "loopback, another address": "http://127.0.0.2:8080/",
        "loopback, decimal": "http://2130706433/",
        "loopback, hex": "http://0x7f000001/",
        "loopback, octal": "http://0177.0.0.1/",
        "loopback, short": "http://127.1/",
        "loopback IPv6": "http://[::1]/",
        "unspecified 0.0.0.0": "http://0.0.0.0/",
        "unspecified 0": "http://0/",
        "unspecified IPv6": "http://[::]/",
        "localhost": "http://localhost/",
        "localhost, upper case": "http://LOCALHOST/",
        # IPv4 inside IPv6
        "IPv4-mapped loopback": "http://[::ffff:127.0.0.1]/",
        "IPv4-mapped loopback, hex": "http://[::ffff:7f00:1]/",
        "IPv4-mapped private": "http://[::ffff:10.0.0.1]/",
        "IPv4-mapped metadata": "http://[::ffff:169.254.169.254]/",
        "IPv4-compatible loopback": "http://[::127.0.0.1]/",
        "6to4 of loopback": "http://[2002:7f00:1::]/",
        "NAT64 of metadata": "http://[64:ff9b::a9fe:a9fe]/",
        "Teredo": "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        # private, link-local, shared, multicast, reserved
        "private 10/8": "http://10.0.0.1/",
        "private 172.16/12": "http://172.16.0.1/",
        "private 192.168/16": "http://192.168.1.1/",
        "unique local IPv6": "http://[fd00::1]/",
        "cloud metadata": "http://169.254.169.254/latest/meta-data/",
        "link-local": "http://169.254.0.1/",
        "link-local IPv6": "http://[fe80::1]/",
        "link-local IPv6 with zone": "http://[fe80::1%25eth0]/",
        "CGNAT 100.64/10": "http://100.64.0.1/",
        "CGNAT, top": "http://100.127.255.254/",
        "multicast": "http://224.0.0.1/",
        "multicast SSDP": "http://239.255.255.250:1900/",
        "multicast IPv6": "http://[ff02::1]/",
        "broadcast": "http://255.255.255.255/",
        "reserved 240/4": "http://240.0.0.1/",
        "documentation range": "http://192.0.2.1/",
        # not http(s)
        "file": "file:///etc/passwd",
        "ftp": f"ftp://{PUBLIC_HOST}/a.jpg",
        "gopher": "gopher://127.0.0.1:6379/_INFO",
        "dict": "dict://127.0.0.1:11211/stats",
        "ldap": "ldap://127.0.0.1/",
        "data": "data:image/png;base64,iVBORw0KGgo=",
        "javascript": "javascript:alert(1)",
        "scheme-relative": f"//{PUBLIC_HOST}/a.jpg",
        "no scheme": f"{PUBLIC_HOST}/a.jpg",
        # userinfo and parser confusion
        "userinfo before a private host": f"http://{PUBLIC_HOST}@127.0.0.1/",
        "credentials on a public host": f"http://user:secret@{PUBLIC_HOST}/a.jpg",
        "fragment hiding the host": f"http://127.0.0.1#@{PUBLIC_HOST}/",
        "backslash before @": f"http://{PUBLIC_HOST}\\@127.0.0.1/",
        "port-looking userinfo": f"http://127.0.0.1:80@{PUBLIC_HOST}/",
        "unicode digits": "http://①②⑦.0.0.1/",
        "out-of-range port": "http://127.0.0.1:99999/",
    }
    cases = [SsrfCase(name, url) for name, url in direct.items()]
    cases += [
        # the sandbox has no DNS server to answer for "localhost." itself
        SsrfCase("localhost, trailing dot", "http://localhost./", {"localhost.": ["127.0.0.1"]}),
        SsrfCase("name resolving to private", "http://internal.test/", {"internal.test": ["10.0.0.1"]}),
        SsrfCase("name resolving to metadata", "http://meta.test/", {"meta.test": ["169.254.169.254"]}),
        SsrfCase("name resolving to CGNAT", "http://cgnat.test/", {"cgnat.test": ["100.64.1.1"]}),
        SsrfCase("name resolving to IPv6 loopback", "http://six.test/", {"six.test": ["::1"]}),
        SsrfCase("name resolving to mapped IPv4", "http://mapped.test/", {"mapped.test": ["::ffff:192.168.0.1"]}),
        SsrfCase(
            "one private answer among public ones", "http://mixed.test/", {"mixed.test": [PUBLIC_ADDRESS, "10.0.0.1"]}
        ),
    ]
    redirects = {
        "redirect to loopback": "http://127.0.0.1/",
        "redirect to private": "http://10.0.0.1/",
        "redirect to metadata": "http://169.254.169.254/latest/meta-data/",
        "redirect to IPv6 loopback": "http://[::1]/",
        "redirect to mapped private": "http://[::ffff:10.0.0.1]/",
        "redirect to a name resolving to private": "http://internal.test/",
        "redirect to file": "file:///etc/passwd",
        "redirect to gopher": "gopher://127.0.0.1:6379/_INFO",
        "redirect to credentials": f"http://user:secret@{PUBLIC_HOST}/image.jpg",
    }
    cases += [SsrfCase(name, redirect(to), {"internal.test": ["10.0.0.1"]}) for name, to in redirects.items()]
    return cases


SSRF_CASES = _cases()


class _PublicServer(BaseHTTPRequestHandler):
    image = b""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", urllib.parse.parse_qs(url.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/image.jpg":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(self.image)))
            self.end_headers()
            self.wfile.write(self.image)
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SsrfNetwork:
    """Fake DNS plus a connect guard; ``refused_connects`` lists every connection it did not allow."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, public_port: int) -> None:
        self.answers: dict[str, list[str]] = {PUBLIC_HOST: [PUBLIC_ADDRESS]}
        self.refused_connects: list[str] = []
        real_getaddrinfo, real_connect = anyio.getaddrinfo, anyio.connect_tcp

        async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
            if host not in self.answers:
                return await real_getaddrinfo(host, port, **kwargs)
            return [
                (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in self.answers[host]
            ]

        async def connect_tcp(remote_host: str, remote_port: int, **kwargs: Any) -> Any:
            if (str(remote_host), remote_port) == (PUBLIC_ADDRESS, 80):
                return await real_connect("127.0.0.1", public_port)
            self.refused_connects.append(f"{remote_host}:{remote_port}")
            raise OSError("the SSRF test network lets no other connection through")

        monkeypatch.setattr(anyio, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(anyio, "connect_tcp", connect_tcp)

    def use(self, case: SsrfCase) -> None:
        self.answers.update(case.dns)


@contextlib.contextmanager
def public_server(image: bytes) -> Iterator[int]:
    """The loopback server behind ``PUBLIC_HOST``: ``/image.jpg`` and ``/redirect?to=URL``; yields its port."""
    handler = type("PublicServer", (_PublicServer,), {"image": image})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
