"""How ``cutout serve`` runs uvicorn, with the connection limits uvicorn does not have.

uvicorn (0.54, on httptools) bounds neither the size of a request head (``h11_max_incomplete_event_size``
applies to its h11 parser only; httptools' own limit cannot be set) nor the time a client may take to
send it (``timeout_keep_alive`` covers only the idle time between two requests, and any byte cancels
it), and it lets one address hold any number of connections. ``LimitedHttpProtocol`` adds, per
connection:

- the request head must arrive within ``header_timeout`` seconds of the connection (or of the previous
  answer), and be at most ``max_header_bytes`` long, else 431 and the connection is closed;
- while a body is being received, ``body_timeout`` seconds without a byte close the connection (unless
  the app is the one not reading);
- a connection beyond ``max_connections_per_address`` open ones from the same address is closed at once.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from entrypoints.settings import Settings

STARTUP_FAILURE = 3  # uvicorn's exit code when the server could not start


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_header_bytes: int
    max_connections_per_address: int
    """0: no cap (behind a reverse proxy every connection comes from the proxy's address)."""

    @classmethod
    def for_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            max_header_bytes=settings.max_header_bytes,
            max_connections_per_address=settings.max_connections_per_address,
        )


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration plus our limits; it travels to worker processes pickled, limits included."""

    def __init__(self, app: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, http=LimitedHttpProtocol, **kwargs)
        self.limits = limits


def server_config(settings: Settings, app: Any, **kwargs: Any) -> ServerConfig:
    """The server ``cutout serve`` runs (tests start the same one on a socket of theirs)."""
    return ServerConfig(app, ConnectionLimits.for_settings(settings), proxy_headers=False, **kwargs)


def serve(config: ServerConfig) -> None:
    """What ``uvicorn.run`` does with a configuration made beforehand."""
    server = uvicorn.Server(config)
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class LimitedHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, ServerConfig)
        self.limits = config.limits
        self._timer: asyncio.TimerHandle | None = None
        self._head_pending = True  # the next bytes belong to a request head
        self._head_bytes = 0
        self._head_too_large = False
        self._body_pending = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn types it
        super().connection_made(transport)
        if (host := self._crowded_address()) is not None:
            self.logger.warning("Closing a connection from %s: too many open from that address.", host)
            transport.close()
            return
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_pending:
            self._head_bytes += len(data)
        elif self._body_pending:
            self._arm(self.limits.body_timeout)
        super().data_received(data)
        if self._head_pending and self._head_bytes > self.limits.max_header_bytes and not self.transport.is_closing():
            self._head_too_large = True
            self.send_400_response("")

    def on_headers_complete(self) -> None:
        head = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if head > self.limits.max_header_bytes:
            self._head_too_large = True
            raise ValueError("request head too large")  # httptools stops; data_received answers
        self._head_pending, self._body_pending = False, True
        self._arm(self.limits.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head_pending, self._head_bytes, self._body_pending = True, 0, False
        if self.cycle is not None and self.cycle.response_complete:  # answered before the body ended: idle now
            self._arm(self.limits.header_timeout)
        else:
            self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # idle now, waiting for the next request's head
            self._arm(self.limits.header_timeout)

    def send_400_response(self, msg: str) -> None:
        if not self._head_too_large:
            super().send_400_response(msg)
            return
        self.logger.warning("Request head over %d bytes from %s.", self.limits.max_header_bytes, self.client)
        self.transport.write(STATUS_LINE[431] + b"content-length: 0\r\nconnection: close\r\n\r\n")
        self.transport.close()

    def _crowded_address(self) -> str | None:
        """This connection's address when more than the cap are open from it, else None."""
        cap = self.limits.max_connections_per_address
        if not cap or self.client is None:
            return None
        host = self.client[0]
        crowd = sum(1 for other in self.connections if (getattr(other, "client", None) or ("",))[0] == host)
        return host if crowd > cap else None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._body_pending and self.flow.read_paused:  # the app is slow to read, not the client to send
            self._arm(self.limits.body_timeout)
            return
        self.logger.info("Closing a connection from %s: the request did not arrive in time.", self.client)
        self.transport.close()
