"""``GET /api/v1/plans``: the plans the pricing page shows, from the same source."""

from __future__ import annotations

from litestar import Controller, get

from domain.plans import catalogue
from entrypoints.http.injected import Injected
from entrypoints.http.schemas import PlanList, PlanView
from entrypoints.settings import Settings


class PlansController(Controller):
    path = "/api/v1/plans"
    tags = ["plans"]

    @get("/", summary="The free tier, credit packs and subscriptions, with prices")
    async def plans(self, settings: Injected[Settings]) -> PlanList:
        return PlanList([PlanView.of(plan) for plan in catalogue(settings.signup_credits)])
