"""Liveness (the process answers) and readiness (database, model and storage all work)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from entrypoints.bootstrap import Adapters
from entrypoints.http.schemas import Check

log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 5


@get("/health/live", tags=["health"], summary="The process is up")
async def live() -> Check:
    return Check("ok", {})


@get(
    "/health/ready",
    tags=["health"],
    summary="Database, model and storage work",
    responses={503: ResponseSpec(Check, description="A check failed")},
)
async def ready(request: Request[Any, Any, Any]) -> Response[Check]:
    adapters: Adapters = request.app.state.adapters
    results = await asyncio.gather(*(_run(name, check) for name, check in adapters.checks.items()))
    checks = dict(results)
    healthy = all(value == "ok" for value in checks.values())
    return Response(Check("ok" if healthy else "unavailable", checks), status_code=200 if healthy else 503)


async def _run(name: str, check: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # a failed check is the answer, not an error of the endpoint
        log.warning("readiness check %s failed: %s", name, error)
        return name, "unavailable"
    return name, "ok"
