"""What Cutout sells: the one list of plans that the API serves and the pricing page shows."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from domain.pricing import PREVIEW_MAX_PIXELS


class PlanKind(enum.StrEnum):
    FREE = "free"
    PACK = "pack"
    SUBSCRIPTION = "subscription"


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    name: str
    kind: PlanKind
    credits: int
    """Credits granted once (free, pack) or every ``interval`` (subscription)."""
    price_cents: int
    currency: str
    interval: str | None
    summary: str
    purchasable: bool
    """False while no payment provider is connected: the plan can be shown, not bought."""

    @property
    def price_per_credit_cents(self) -> float | None:
        return self.price_cents / self.credits if self.price_cents and self.credits else None


def catalogue(signup_credits: int) -> list[Plan]:
    """The plans, cheapest first. One credit buys one full-size cut-out; results of at most
    0.25 MP (previews) are free on every plan. The free plan is the sign-up grant. Packs never
    expire; the subscription renews monthly. Nothing is purchasable until payments exist."""
    preview_mp = PREVIEW_MAX_PIXELS / 1_000_000
    return [
        Plan(
            "free",
            "Free",
            PlanKind.FREE,
            signup_credits,
            0,
            "EUR",
            None,
            f"{signup_credits} full-size cut-outs when you sign up, and free previews up to {preview_mp:g} MP.",
            purchasable=False,
        ),
        Plan("pack-50", "Pack of 50", PlanKind.PACK, 50, 900, "EUR", None, "50 credits that never expire.", False),
        Plan("pack-500", "Pack of 500", PlanKind.PACK, 500, 4900, "EUR", None, "500 credits that never expire.", False),
        Plan(
            "monthly-200",
            "Monthly 200",
            PlanKind.SUBSCRIPTION,
            200,
            1500,
            "EUR",
            "month",
            "200 credits every month; cancel any time.",
            purchasable=False,
        ),
    ]
