"""Reading a balance and granting credits by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain import credits
from domain.credits import LedgerEntry
from domain.errors import InvalidRequest, NotFound
from domain.paging import check_page
from domain.ports import Clock, UnitOfWorkFactory
from domain.recent_reads import RecentReads
from domain.users import User, normalise_email


@dataclass(frozen=True, slots=True)
class CreditStatement:
    balance: int
    entries: Sequence[LedgerEntry]
    total: int


async def current_balance(uow: UnitOfWorkFactory, user: User) -> int:
    """The balance as the database has it now: what a decision about spending reads."""
    async with uow() as unit:
        return await unit.ledger.balance(user.id)


@dataclass
class GetBalance:
    """The user's balance: the sum of the user's ledger entries. A balance read in the last
    ``CUTOUT_AUTH_CACHE_SECONDS`` is shown again; an entry this process commits makes it read afresh."""

    uow: UnitOfWorkFactory
    recent: RecentReads

    async def __call__(self, user: User) -> int:
        if (balance := self.recent.balance(user.id)) is not None:
            return balance
        version = self.recent.version
        balance = await current_balance(self.uow, user)
        self.recent.remember_balance(user.id, balance, version)
        return balance


@dataclass
class GetStatement:
    """The balance and one page of ledger entries, newest first (at most 100 a page)."""

    uow: UnitOfWorkFactory

    async def __call__(self, user: User, limit: int = 20, offset: int = 0) -> CreditStatement:
        check_page(limit, offset)
        async with self.uow() as uow:
            balance = await uow.ledger.balance(user.id)
            entries, total = await uow.ledger.entries(user.id, limit, offset)
        return CreditStatement(balance, entries, total)


@dataclass
class GrantCredits:
    """An operator's grant of a positive number of credits to an existing account, booked as
    ``admin_grant``; returns the new balance."""

    uow: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, email: str, amount: int) -> int:
        if amount <= 0:
            raise InvalidRequest("Grant a positive number of credits.")
        async with self.uow() as uow:
            user = await uow.users.get_by_email(normalise_email(email))
            if user is None:
                raise NotFound(f"No user with email {email}.")
            await uow.ledger.post(credits.admin_grant(user.id, amount, self.clock.now()))
            balance = await uow.ledger.balance(user.id)
            await uow.commit()
        return balance
