"""Deliveries from services that call us back. Their signature is their authentication: no user, no CSRF."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post

from domain.errors import NotFound
from domain.ports import WebhookReceiver
from entrypoints.bootstrap import REPLICATE_WEBHOOK_PATH
from entrypoints.http.injected import Injected
from entrypoints.http.schemas import error_spec


class WebhooksController(Controller):
    path = REPLICATE_WEBHOOK_PATH
    tags = ["webhooks"]

    @post(
        "/",
        summary="A finished Replicate prediction (signed by Replicate)",
        description=(
            "Replicate's `completed` webhook, verified by its `webhook-id`, `webhook-timestamp` and "
            "`webhook-signature` headers (Standard Webhooks; older than 5 minutes is refused)."
        ),
        status_code=204,
        exclude_from_csrf=True,
        responses={
            400: error_spec("Signed, but not a prediction"),
            401: error_spec("invalid_signature: forged, malformed or stale"),
            404: error_spec("Inference does not run on Replicate here"),
            503: error_spec("The signing secret could not be read; Replicate retries"),
        },
    )
    async def replicate(self, request: Request[Any, Any, Any], webhooks: Injected[WebhookReceiver | None]) -> None:
        if webhooks is None:
            raise NotFound("Inference does not run on Replicate here.")
        await webhooks.receive(await request.body(), request.headers)
