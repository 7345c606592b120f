"""The unit of work: one AsyncSession, one transaction, the repositories bound to it. Its engine
translates database errors into domain errors (``errors.py``), its flushes and commit included."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import false, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.sql.accounts import SqlApiKeyRepository, SqlSessionRepository, SqlUserRepository
from adapters.sql.contacts import SqlContactRepository
from adapters.sql.jobs import SqlJobRepository
from adapters.sql.ledger import SqlCreditLedger
from adapters.sql.models import Base
from adapters.sql.webhooks import SqlWebhookRepository
from domain.ports import BalanceListener


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], listeners: list[BalanceListener]) -> None:
        self._sessions = sessions
        self._listeners = listeners

    async def __aenter__(self) -> SqlUnitOfWork:
        self._session = self._sessions()
        self.users = SqlUserRepository(self._session)
        self.api_keys = SqlApiKeyRepository(self._session)
        self.sessions = SqlSessionRepository(self._session)
        self.ledger = SqlCreditLedger(self._session)
        self.jobs = SqlJobRepository(self._session)
        self.webhooks = SqlWebhookRepository(self._session)
        self.contacts = SqlContactRepository(self._session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.rollback()
        finally:
            await self._session.close()

    async def commit(self) -> None:
        await self._session.commit()
        changed, self.ledger.changed = self.ledger.changed, set()
        for user_id in changed:
            for listener in self._listeners:
                listener(user_id)

    async def rollback(self) -> None:
        await self._session.rollback()
        self.ledger.changed.clear()


class SqlUnitOfWorkFactory:
    """Makes a fresh unit of work per use; holds the engine so the app can dispose of it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._listeners: list[BalanceListener] = []

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._listeners)

    def on_balance_change(self, listener: BalanceListener) -> None:
        self._listeners.append(listener)

    async def ping(self) -> None:
        """Readiness: every mapped table answers a query naming all its columns (and returns no row).
        ``SELECT 1`` would pass on a connection whose database was dropped or never migrated."""
        async with self.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                await connection.execute(select(*table.columns).where(false()))
