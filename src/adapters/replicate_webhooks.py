"""Replicate's webhooks: verified the Standard Webhooks way, then handed to the shared inbox.

A delivery is authentic when ``webhook-signature`` holds the HMAC-SHA256 of
``{webhook-id}.{webhook-timestamp}.{body}`` keyed with the base64 part of the account's ``whsec_``
secret, and fresh when ``webhook-timestamp`` is within five minutes of now (older is a replay).
The secret comes from ``GET /v1/webhooks/default/secret`` and is cached.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
from replicate.client import Client
from replicate.exceptions import ReplicateError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from domain.errors import InvalidRequest, InvalidSignature, ServiceUnavailable
from domain.ports import PredictionInbox

SECRET_TTL_SECONDS = 3600.0
MAX_ERROR_CHARS = 1000


class ReplicateWebhookReceiver:
    """``WebhookReceiver`` for ``POST /api/v1/webhooks/replicate``."""

    def __init__(self, client: Client, inbox: PredictionInbox, secret_ttl: float = SECRET_TTL_SECONDS) -> None:
        self.client = client
        self.inbox = inbox
        self.secret_ttl = secret_ttl
        self._verifier: tuple[float, Webhook] | None = None

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> None:
        verifier = await self._current_verifier()
        try:
            payload = verifier.verify(body, dict(headers))
        except (WebhookVerificationError, ValueError):  # ValueError: malformed headers, body or JSON
            raise InvalidSignature() from None
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or "status" not in payload:
            raise InvalidRequest("The webhook body is not a prediction.")
        await self.inbox.put(payload["id"], _essentials(payload))

    async def _current_verifier(self) -> Webhook:
        now = time.monotonic()
        if self._verifier is None or now - self._verifier[0] > self.secret_ttl:
            try:
                secret = await self.client.webhooks.default.async_secret()
            except (ReplicateError, httpx.HTTPError) as error:
                # A 5xx makes Replicate deliver again later, by when the secret may be readable.
                raise ServiceUnavailable("The webhook signing secret could not be read from Replicate.") from error
            self._verifier = (now, Webhook(secret.key))
        return self._verifier[1]


def _essentials(payload: dict[str, Any]) -> dict[str, Any]:
    """What the waiting process needs; logs and metrics stay with Replicate."""
    error = payload.get("error")
    return {
        "id": payload["id"],
        "status": payload["status"],
        "output": payload.get("output"),
        "error": str(error)[:MAX_ERROR_CHARS] if error is not None else None,
    }
