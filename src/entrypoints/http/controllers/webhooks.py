"""Deliveries from services that call us back. Their signature is their authentication: no user, no CSRF."""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from domain.errors import NotFound
from entrypoints.bootstrap import REPLICATE_WEBHOOK_PATH, Adapters


@post(
    REPLICATE_WEBHOOK_PATH,
    tags=["webhooks"],
    summary="A finished Replicate prediction (signed by Replicate)",
    status_code=204,
    exclude_from_csrf=True,
)
async def replicate(request: Request[Any, Any, Any]) -> None:
    adapters: Adapters = request.app.state.adapters
    if adapters.webhooks is None:
        raise NotFound("Inference does not run on Replicate here.")
    await adapters.webhooks.receive(await request.body(), request.headers)
