"""The credit balance and its ledger."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency

from domain.users import User
from entrypoints.bootstrap import Services
from entrypoints.http.auth import SIGNED_IN
from entrypoints.http.schemas import CreditsView, LedgerEntryView, PageLimit, PageOffset, error_responses


@get(
    "/api/v1/credits",
    security=SIGNED_IN,
    tags=["credits"],
    summary="Balance and ledger entries, newest first",
    responses=error_responses(400, 401),
)
async def credits(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    limit: PageLimit = 20,
    offset: PageOffset = 0,
) -> CreditsView:
    services: Services = request.app.state.services
    statement = await services.get_statement(user, limit, offset)
    entries = [LedgerEntryView.of(entry) for entry in statement.entries]
    return CreditsView(statement.balance, entries, statement.total, limit, offset)
