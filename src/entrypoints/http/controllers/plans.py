"""``GET /api/v1/plans``: the plans the pricing page shows, from the same source."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from domain.plans import catalogue
from entrypoints.http.schemas import PlanList, PlanView


@get("/api/v1/plans", tags=["plans"], summary="The free tier, credit packs and subscriptions, with prices")
async def plans(request: Request[Any, Any, Any]) -> PlanList:
    return PlanList([PlanView.of(plan) for plan in catalogue(request.app.state.settings.signup_credits)])
