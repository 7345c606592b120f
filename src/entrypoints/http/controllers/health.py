"""Liveness (the process answers) and readiness (database, model and storage all work)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from entrypoints.bootstrap import ReadinessCheck
from entrypoints.http.injected import Injected
from entrypoints.http.schemas import Check

log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 5


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="The process is up")
    async def live(self) -> Check:
        return Check("ok", {})

    @get(
        "/ready",
        summary="Database, model and storage work",
        responses={503: ResponseSpec(Check, description="A check failed")},
    )
    async def ready(self, readiness_checks: Injected[dict[str, ReadinessCheck]]) -> Response[Check]:
        results = await asyncio.gather(*(_run(name, check) for name, check in readiness_checks.items()))
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
