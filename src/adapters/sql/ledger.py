"""The credit ledger: one balance row per user, moved only together with the entry that says why."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.sql.models import CreditAccountRow, LedgerEntryRow
from adapters.sql.results import rowcount
from domain.credits import LedgerEntry, LedgerKind
from domain.errors import InsufficientCredits


class SqlCreditLedger:
    """The balance row moves by a conditional UPDATE in the same transaction as the entry's INSERT:
    the UPDATE matches no row when the balance would go negative, and the unique (kind, reference)
    makes a second booking of one event fail (``AlreadyPosted``, see ``errors.py``), rolling both back."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.changed: set[uuid.UUID] = set()
        """The users whose balance moved in this transaction, for the unit of work to report on commit."""

    async def open_account(self, user_id: uuid.UUID) -> None:
        self._session.add(CreditAccountRow(user_id=user_id, balance=0))
        await self._session.flush()

    async def post(self, entry: LedgerEntry) -> None:
        moved = await self._session.execute(
            update(CreditAccountRow)
            .where(CreditAccountRow.user_id == entry.user_id, CreditAccountRow.balance + entry.delta >= 0)
            .values(balance=CreditAccountRow.balance + entry.delta)
        )
        if rowcount(moved) != 1:
            raise InsufficientCredits(required=-entry.delta)
        self._session.add(
            LedgerEntryRow(
                id=entry.id,
                user_id=entry.user_id,
                delta=entry.delta,
                kind=entry.kind.value,
                reference=entry.reference,
                job_id=entry.job_id,
                created_at=entry.created_at,
            )
        )
        await self._session.flush()
        self.changed.add(entry.user_id)

    async def balance(self, user_id: uuid.UUID) -> int:
        balance = await self._session.scalar(
            select(CreditAccountRow.balance).where(CreditAccountRow.user_id == user_id)
        )
        return balance or 0

    async def entries(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[LedgerEntry], int]:
        total = await self._session.scalar(
            select(func.count()).select_from(LedgerEntryRow).where(LedgerEntryRow.user_id == user_id)
        )
        rows = await self._session.scalars(
            select(LedgerEntryRow)
            .where(LedgerEntryRow.user_id == user_id)
            .order_by(LedgerEntryRow.created_at.desc(), LedgerEntryRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        entries = [
            LedgerEntry(r.user_id, r.delta, LedgerKind(r.kind), r.reference, r.created_at, r.job_id, r.id) for r in rows
        ]
        return entries, total or 0
