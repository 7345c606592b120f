"""Repositories: the domain's repository ports over advanced-alchemy, mapping rows to entities."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from advanced_alchemy.exceptions import DuplicateKeyError
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.sql.models import (
    ApiKeyRow,
    ContactMessageRow,
    CreditAccountRow,
    JobRow,
    LedgerEntryRow,
    SessionRow,
    UserRow,
)
from domain.api_keys import ApiKey
from domain.contact import ContactMessage
from domain.credits import LedgerEntry, LedgerKind
from domain.errors import AlreadyPosted, EmailTaken, InsufficientCredits
from domain.jobs import Job, JobStatus
from domain.sessions import Session
from domain.users import User


class _UserRows(SQLAlchemyAsyncRepository[UserRow]):
    model_type = UserRow


class _ApiKeyRows(SQLAlchemyAsyncRepository[ApiKeyRow]):
    model_type = ApiKeyRow


class _JobRows(SQLAlchemyAsyncRepository[JobRow]):
    model_type = JobRow


def _user(row: UserRow) -> User:
    return User(row.id, row.email, row.password_hash, row.created_at, row.is_active, row.is_admin)


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id, row.user_id, row.name, row.prefix, row.secret_hash, row.created_at, row.last_used_at, row.revoked_at
    )


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        user_id=row.user_id,
        status=JobStatus(row.status),
        options=dict(row.options),
        credits_reserved=row.credits_reserved,
        created_at=row.created_at,
        updated_at=row.updated_at,
        lease_expires_at=row.lease_expires_at,
        attempts=row.attempts,
        progress=row.progress,
        error_code=row.error_code,
        error_message=row.error_message,
        finished_at=row.finished_at,
    )


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = _UserRows(session=session, auto_refresh=False)

    async def add(self, user: User) -> None:
        row = UserRow(
            id=user.id,
            email=user.email,
            password_hash=user.password_hash,
            created_at=user.created_at,
            is_active=user.is_active,
            is_admin=user.is_admin,
        )
        try:
            await self._rows.add(row)
        except DuplicateKeyError as error:
            raise EmailTaken(field="email") from error

    async def get(self, user_id: uuid.UUID) -> User | None:
        row = await self._rows.get_one_or_none(UserRow.id == user_id)
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await self._rows.get_one_or_none(UserRow.email == email)
        return _user(row) if row else None

    async def update_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self._rows.session.execute(
            update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash)
        )


class SqlApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = _ApiKeyRows(session=session, auto_refresh=False)

    async def add(self, key: ApiKey) -> None:
        await self._rows.add(
            ApiKeyRow(
                id=key.id,
                user_id=key.user_id,
                name=key.name,
                prefix=key.prefix,
                secret_hash=key.secret_hash,
                created_at=key.created_at,
                last_used_at=key.last_used_at,
                revoked_at=key.revoked_at,
            )
        )

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        row = await self._rows.get_one_or_none(ApiKeyRow.id == key_id)
        return _api_key(row) if row else None

    async def find_by_hash(self, secret_hash: str) -> ApiKey | None:
        row = await self._rows.get_one_or_none(ApiKeyRow.secret_hash == secret_hash)
        return _api_key(row) if row else None

    async def list_for_user(self, user_id: uuid.UUID) -> Sequence[ApiKey]:
        rows = await self._rows.get_many(ApiKeyRow.user_id == user_id, order_by=[(ApiKeyRow.created_at, False)])
        return [_api_key(row) for row in rows]

    async def save(self, key: ApiKey) -> None:
        await self._rows.session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key.id)
            .values(last_used_at=key.last_used_at, revoked_at=key.revoked_at)
        )


class SqlSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, session: Session) -> None:
        self._session.add(
            SessionRow(
                id=session.token_hash,
                user_id=session.user_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )
        await self._session.flush()

    async def get(self, token_hash: str) -> Session | None:
        row = await self._session.get(SessionRow, token_hash)
        return Session(row.id, row.user_id, row.created_at, row.expires_at) if row else None

    async def delete(self, token_hash: str) -> None:
        await self._session.execute(delete(SessionRow).where(SessionRow.id == token_hash))


class SqlCreditLedger:
    """The balance row moves by a conditional UPDATE in the same transaction as the entry's INSERT:
    the UPDATE matches no row when the balance would go negative, and the unique (kind, reference)
    makes a second booking of one event fail, rolling both back."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open_account(self, user_id: uuid.UUID) -> None:
        self._session.add(CreditAccountRow(user_id=user_id, balance=0))
        await self._session.flush()

    async def post(self, entry: LedgerEntry) -> None:
        moved = await self._session.execute(
            update(CreditAccountRow)
            .where(CreditAccountRow.user_id == entry.user_id, CreditAccountRow.balance + entry.delta >= 0)
            .values(balance=CreditAccountRow.balance + entry.delta)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
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
        try:
            await self._session.flush()
        except IntegrityError as error:
            raise AlreadyPosted(kind=entry.kind.value, reference=entry.reference) from error

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


class SqlJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = _JobRows(session=session, auto_refresh=False)

    async def add(self, job: Job) -> None:
        await self._rows.add(JobRow(id=job.id, **_job_columns(job)))

    async def get(self, job_id: uuid.UUID) -> Job | None:
        row = await self._rows.get_one_or_none(JobRow.id == job_id)
        return _job(row) if row else None

    async def lock(self, job_id: uuid.UUID) -> Job | None:
        row = await self._rows.session.scalar(select(JobRow).where(JobRow.id == job_id).with_for_update())
        return _job(row) if row else None

    async def save(self, job: Job) -> None:
        await self._rows.session.execute(update(JobRow).where(JobRow.id == job.id).values(**_job_columns(job)))

    async def lease_expired(self, now: datetime, limit: int) -> Sequence[Job]:
        rows = await self._rows.session.scalars(
            select(JobRow)
            .where(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_expires_at < now)
            .order_by(JobRow.lease_expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_job(row) for row in rows]


def _job_columns(job: Job) -> dict[str, object]:
    return {
        "user_id": job.user_id,
        "status": job.status.value,
        "options": job.options,
        "credits_reserved": job.credits_reserved,
        "attempts": job.attempts,
        "progress": job.progress,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "lease_expires_at": job.lease_expires_at,
    }


class SqlContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, message: ContactMessage) -> None:
        self._session.add(
            ContactMessageRow(
                id=message.id,
                name=message.name,
                email=message.email,
                message=message.message,
                created_at=message.created_at,
            )
        )
        await self._session.flush()

    async def recent(self, limit: int) -> Sequence[ContactMessage]:
        rows = await self._session.scalars(
            select(ContactMessageRow)
            .order_by(ContactMessageRow.created_at.desc(), ContactMessageRow.id.desc())
            .limit(limit)
        )
        return [ContactMessage(r.name, r.email, r.message, r.created_at, r.id) for r in rows]
