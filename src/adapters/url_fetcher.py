"""Download images from user-supplied URLs without letting the URL reach internal services (SSRF).

The address check runs inside the connection: a custom httpcore network backend resolves the
host itself, refuses the connection unless every resolved address passes the policy, and then
connects to the validated IP literal. A DNS answer that changes between a pre-check and the
connect (DNS rebinding) therefore cannot slip through, and every redirect hop is checked the
same way. httpcore is used directly, without httpx, so proxy environment variables are ignored.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TypeAlias

import anyio
import httpcore

from domain.errors import FileTooLarge, UrlFetchFailed, UrlNotAllowed

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy: TypeAlias = Callable[[IPAddress], bool]

MAX_REDIRECTS = 5
USER_AGENT = b"Cutout/0.1"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Lower-case host names, IPv4 in any numeric spelling and bare IPv6 literals; anything else
# (IPv6 zone ids, stray characters) is refused rather than handed to the resolver.
_HOST = re.compile(r"[a-z0-9._:-]+")
# Characters left as they are in the request target; everything else is percent-encoded.
_TARGET_SAFE = "/?:@!$&'()*+,;=%[]~"


def is_public_address(address: IPAddress) -> bool:
    """True when ``address`` is a globally routable unicast address.

    IPv6 addresses that embed an IPv4 address (IPv4-mapped, 6to4) are judged by the embedded
    one; Teredo addresses are refused outright, since they tunnel to an arbitrary IPv4 host.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public_address(embedded)
        if address.teredo is not None:
            return False
    # ``is_global`` alone lets multicast, and in IPv6 the reserved ::/8 range, through.
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified or address.is_link_local
    )


class SafeUrlFetcher:
    """The ``UrlFetcher`` port over http(s), refusing every address ``address_allowed`` rejects."""

    def __init__(
        self,
        *,
        address_allowed: AddressPolicy = is_public_address,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        total_timeout: float = 20.0,
    ) -> None:
        self._backend = CheckedBackend(address_allowed)
        self._timeouts = {
            "connect": connect_timeout,
            "pool": connect_timeout,
            "read": read_timeout,
            "write": read_timeout,
        }
        self._total_timeout = total_timeout

    async def fetch(self, url: str, max_bytes: int) -> bytes:
        """Download ``url``; raises UrlNotAllowed, UrlFetchFailed or FileTooLarge."""
        try:
            with anyio.fail_after(self._total_timeout):
                async with httpcore.AsyncConnectionPool(network_backend=self._backend) as pool:
                    return await self._follow(pool, url, max_bytes)
        except (TimeoutError, httpcore.TimeoutException) as exc:
            raise UrlFetchFailed("The download timed out.", url=url) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            raise UrlFetchFailed(url=url) from exc

    async def _follow(self, pool: httpcore.AsyncConnectionPool, url: str, max_bytes: int) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            target, host = parse_url(url)
            headers = [(b"Host", host), (b"User-Agent", USER_AGENT), (b"Accept", b"image/*")]
            extensions = {"timeout": self._timeouts}
            async with pool.stream("GET", target, headers=headers, extensions=extensions) as response:
                if response.status in _REDIRECT_STATUSES:
                    location = _header(response, b"location")
                    if location is None:
                        raise UrlFetchFailed("A redirect had no Location header.", url=url, status=response.status)
                    url = urllib.parse.urljoin(url, location.decode("latin-1"))
                    continue
                if not 200 <= response.status < 300:
                    raise UrlFetchFailed(url=url, status=response.status)
                return await _read_at_most(response, max_bytes)
        raise UrlFetchFailed("Too many redirects.", url=url, max_redirects=MAX_REDIRECTS)


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host, refuses unless every address is allowed, then connects to an IP literal."""

    def __init__(self, address_allowed: AddressPolicy) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._address_allowed = address_allowed

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        # The resolved addresses stay out of the error: they would reveal internal DNS to the caller.
        if not all(self._address_allowed(address) for address in addresses):
            raise UrlNotAllowed("The URL points to an address that may not be fetched.", host=host)
        # Try each validated address in resolver order, like a normal client would.
        for address in addresses[:-1]:
            with contextlib.suppress(httpcore.ConnectError):
                return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
        return await self._inner.connect_tcp(str(addresses[-1]), port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    """Every distinct address ``host`` resolves to, as httpcore connection errors on failure."""
    try:
        with anyio.fail_after(timeout):
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no usable address")
    return addresses


def parse_url(url: str) -> tuple[httpcore.URL, bytes]:
    """The httpcore URL and Host header for ``url``; raises UrlNotAllowed unless it is plain http(s)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        hostname, port = parts.hostname, parts.port
        if hostname and not hostname.isascii():
            hostname = hostname.encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise UrlNotAllowed("The URL cannot be parsed.", url=url) from exc
    if parts.scheme not in ("http", "https"):
        raise UrlNotAllowed("Only http and https URLs may be fetched.", url=url)
    if "@" in parts.netloc:
        raise UrlNotAllowed("URLs with credentials may not be fetched.", url=url)
    if not hostname or not _HOST.fullmatch(hostname):
        raise UrlNotAllowed("The URL has no valid host.", url=url)

    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None:
        host += f":{port}"
    # Built from parts (not from the string) so the Host header keeps IPv6 brackets and the
    # backend receives the bare host name or address.
    request_url = httpcore.URL(
        scheme=parts.scheme, host=hostname, port=port, target=urllib.parse.quote(target, safe=_TARGET_SAFE)
    )
    return request_url, host.encode("ascii")


def _header(response: httpcore.Response, name: bytes) -> bytes | None:
    return next((value for key, value in response.headers if key.lower() == name), None)


async def _read_at_most(response: httpcore.Response, max_bytes: int) -> bytes:
    """The body, raising FileTooLarge as soon as it is known to exceed ``max_bytes``."""
    declared = _header(response, b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise FileTooLarge(max_bytes=max_bytes, content_length=int(declared))
    body = bytearray()
    async for chunk in response.aiter_stream():
        body += chunk
        if len(body) > max_bytes:
            raise FileTooLarge(max_bytes=max_bytes)
    return bytes(body)
