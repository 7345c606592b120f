"""The credit balance and its ledger."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from domain.use_cases.credits import GetStatement
from domain.users import User
from entrypoints.http.auth import SIGNED_IN
from entrypoints.http.injected import Injected
from entrypoints.http.route_docs import rules_of
from entrypoints.http.schemas import CreditsView, LedgerEntryView, PageLimit, PageOffset, error_responses


class CreditsController(Controller):
    path = "/api/v1/credits"
    tags = ["credits"]
    security = SIGNED_IN

    @get(
        "/",
        summary="Balance and ledger entries, newest first",
        description=rules_of(GetStatement),
        responses=error_responses(400, 401),
    )
    async def credits(
        self,
        user: NamedDependency[User],
        get_statement: Injected[GetStatement],
        limit: PageLimit = 20,
        offset: PageOffset = 0,
    ) -> CreditsView:
        statement = await get_statement(user, limit, offset)
        entries = [LedgerEntryView.of(entry) for entry in statement.entries]
        return CreditsView(statement.balance, entries, statement.total, limit, offset)
