"""Job callbacks over HTTP: signed the Standard Webhooks way, sent only to public addresses.

The connection goes through the same address-checking network backend as ``image_url``
downloads, so a callback cannot be aimed at internal services; redirects are not followed. Only the
status line and headers of the answer are read, so a receiver cannot make us hold a large body.
"""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import httpcore
from standardwebhooks import Webhook

from adapters.url_fetcher import USER_AGENT, AddressPolicy, CheckedBackend, is_public_address, parse_url
from domain.errors import UrlFetchFailed


class SignedWebhookSender:
    """The ``WebhookSender`` port."""

    def __init__(self, *, address_allowed: AddressPolicy = is_public_address, timeout: float = 10.0) -> None:
        self._backend = CheckedBackend(address_allowed)
        self._timeout = timeout

    async def send(self, url: str, secret: str, message_id: str, payload: bytes) -> None:
        target, host = parse_url(url)
        timestamp = datetime.now(UTC)
        signature = Webhook(secret).sign(message_id, timestamp, payload.decode())
        headers = [
            (b"Host", host),
            (b"User-Agent", USER_AGENT),
            (b"Content-Type", b"application/json"),
            (b"webhook-id", message_id.encode()),
            (b"webhook-timestamp", str(int(timestamp.timestamp())).encode()),
            (b"webhook-signature", signature.encode()),
        ]
        try:
            with anyio.fail_after(self._timeout):
                async with (
                    httpcore.AsyncConnectionPool(network_backend=self._backend) as pool,
                    pool.stream("POST", target, headers=headers, content=payload) as response,
                ):
                    status = response.status  # the answer's body is never read: its status is all we need
        except (TimeoutError, httpcore.TimeoutException) as exc:
            raise UrlFetchFailed("The callback timed out.", url=url) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            raise UrlFetchFailed("The callback URL could not be reached.", url=url) from exc
        if not 200 <= status < 300:
            raise UrlFetchFailed(f"The callback answered {status}.", url=url, status=status)
