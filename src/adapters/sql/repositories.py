"""Repositories: the domain's repository ports over advanced-alchemy, mapping rows to entities."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec
from advanced_alchemy.exceptions import DuplicateKeyError
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Select, delete, func, or_, select, update
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
    WebhookDeliveryRow,
)
from domain.api_keys import ApiKey
from domain.contact import ContactMessage
from domain.credits import LedgerEntry, LedgerKind
from domain.cutouts import CutoutOptions
from domain.errors import AlreadyPosted, EmailTaken, IdempotencyKeyTaken, InsufficientCredits
from domain.jobs import Job, JobResult, JobStatus
from domain.sessions import Session
from domain.users import User
from domain.webhooks import DeliveryStatus, WebhookDelivery


class _UserRows(SQLAlchemyAsyncRepository[UserRow]):
    model_type = UserRow


class _ApiKeyRows(SQLAlchemyAsyncRepository[ApiKeyRow]):
    model_type = ApiKeyRow


class _JobRows(SQLAlchemyAsyncRepository[JobRow]):
    model_type = JobRow


def _user(row: UserRow) -> User:
    return User(row.id, row.email, row.password_hash, row.created_at, row.is_active, row.is_admin, row.webhook_secret)


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id, row.user_id, row.name, row.prefix, row.secret_hash, row.created_at, row.last_used_at, row.revoked_at
    )


def _job(row: JobRow) -> Job:
    result = None
    if row.result_key:
        result = JobResult(row.result_key, row.result_media_type or "", row.result_width or 0, row.result_height or 0)
    return Job(
        id=row.id,
        user_id=row.user_id,
        status=JobStatus(row.status),
        options=msgspec.convert({k: v for k, v in row.options.items() if k != _BACKGROUND_KEY}, CutoutOptions),
        credits_reserved=row.credits_reserved,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sync=row.sync,
        lease_expires_at=row.lease_expires_at,
        attempts=row.attempts,
        progress=row.progress,
        error_code=row.error_code,
        error_message=row.error_message,
        finished_at=row.finished_at,
        available_at=row.available_at,
        worker_id=row.worker_id,
        input_key=row.input_key,
        background_key=row.options.get(_BACKGROUND_KEY),
        result=result,
        idempotency_key=row.idempotency_key,
        fingerprint=row.fingerprint,
        callback_url=row.callback_url,
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

    async def set_webhook_secret(self, user_id: uuid.UUID, secret: str) -> None:
        await self._rows.session.execute(update(UserRow).where(UserRow.id == user_id).values(webhook_secret=secret))

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

    async def count_active(self, user_id: uuid.UUID) -> int:
        session = self._rows.session
        await session.execute(select(UserRow.id).where(UserRow.id == user_id).with_for_update())
        live = (ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_at.is_(None))
        count = await session.scalar(select(func.count()).select_from(ApiKeyRow).where(*live))
        return count or 0

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

    async def delete_expired(self, now: datetime) -> int:
        result = await self._session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
        return result.rowcount  # type: ignore[attr-defined,no-any-return]


class SqlCreditLedger:
    """The balance row moves by a conditional UPDATE in the same transaction as the entry's INSERT:
    the UPDATE matches no row when the balance would go negative, and the unique (kind, reference)
    makes a second booking of one event fail, rolling both back."""

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


class SqlJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = _JobRows(session=session, auto_refresh=False)

    async def add(self, job: Job) -> None:
        try:
            await self._rows.add(JobRow(id=job.id, **_job_columns(job)))
        except DuplicateKeyError as error:
            raise IdempotencyKeyTaken(field="Idempotency-Key") from error

    async def get(self, job_id: uuid.UUID) -> Job | None:
        row = await self._rows.get_one_or_none(JobRow.id == job_id)
        return _job(row) if row else None

    async def lock(self, job_id: uuid.UUID) -> Job | None:
        row = await self._rows.session.scalar(select(JobRow).where(JobRow.id == job_id).with_for_update())
        return _job(row) if row else None

    async def save(self, job: Job) -> None:
        await self._rows.session.execute(update(JobRow).where(JobRow.id == job.id).values(**_job_columns(job)))

    async def lease_expired(self, now: datetime, limit: int) -> Sequence[Job]:
        return await self._locked(
            select(JobRow)
            .where(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_expires_at < now)
            .order_by(JobRow.lease_expires_at)
            .limit(limit)
        )

    async def claim_next(self, now: datetime) -> Job | None:
        jobs = await self._locked(
            select(JobRow)
            .where(JobRow.status == JobStatus.QUEUED.value, JobRow.available_at <= now)
            .order_by(JobRow.available_at)
            .limit(1)
        )
        return jobs[0] if jobs else None

    async def heartbeat(self, job_id: uuid.UUID, worker_id: str, lease_until: datetime, progress: int) -> bool:
        moved = await self._rows.session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value, JobRow.worker_id == worker_id)
            .values(lease_expires_at=lease_until, progress=progress)
        )
        return moved.rowcount == 1  # type: ignore[attr-defined]

    async def get_by_idempotency_key(self, user_id: uuid.UUID, key: str) -> Job | None:
        row = await self._rows.get_one_or_none(JobRow.user_id == user_id, JobRow.idempotency_key == key)
        return _job(row) if row else None

    async def list_for_user(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[Job], int]:
        mine = (JobRow.user_id == user_id, JobRow.sync.is_(False))
        total = await self._rows.session.scalar(select(func.count()).select_from(JobRow).where(*mine))
        rows = await self._rows.session.scalars(
            select(JobRow).where(*mine).order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit).offset(offset)
        )
        return [_job(row) for row in rows], total or 0

    async def retention_due(self, created_before: datetime, limit: int) -> Sequence[Job]:
        waiting_or_done = JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.SUCCEEDED.value])
        return await self._locked(
            select(JobRow)
            .where(JobRow.created_at < created_before, JobRow.sync.is_(False))
            .where(or_(waiting_or_done, JobRow.input_key.is_not(None) & (JobRow.status != JobStatus.RUNNING.value)))
            .order_by(JobRow.created_at)
            .limit(limit)
        )

    async def delete_finished_sync(self, created_before: datetime, limit: int) -> int:
        ended = [status.value for status in JobStatus if status.is_terminal]
        ids = list(
            await self._rows.session.scalars(
                select(JobRow.id)
                .where(JobRow.created_at < created_before, JobRow.sync.is_(True), JobRow.status.in_(ended))
                .order_by(JobRow.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            await self._rows.session.execute(delete(JobRow).where(JobRow.id.in_(ids)))
        return len(ids)

    async def _locked(self, query: Select[tuple[JobRow]]) -> list[Job]:
        """Run ``query`` locking its rows and skipping rows another transaction holds.

        MySQL/MariaDB: ``FOR UPDATE SKIP LOCKED``. SQLite has no row locks; every write
        transaction there begins IMMEDIATE (see ``engine.py``), so it runs alone anyway.
        """
        rows = await self._rows.session.scalars(query.with_for_update(skip_locked=True))
        return [_job(row) for row in rows]


_BACKGROUND_KEY = "background_key"
"""Where the blob key of a job's background image rides in the ``options`` JSON, beside the cut-out options."""


def _options_column(job: Job) -> dict[str, object]:
    options: dict[str, object] = msgspec.to_builtins(job.options)
    if job.background_key:
        options[_BACKGROUND_KEY] = job.background_key
    return options


def _job_columns(job: Job) -> dict[str, object]:
    result = job.result
    return {
        "user_id": job.user_id,
        "status": job.status.value,
        "sync": job.sync,
        "options": _options_column(job),
        "credits_reserved": job.credits_reserved,
        "attempts": job.attempts,
        "progress": job.progress,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "lease_expires_at": job.lease_expires_at,
        "available_at": job.available_at,
        "worker_id": job.worker_id,
        "input_key": job.input_key,
        "result_key": result.key if result else None,
        "result_media_type": result.media_type if result else None,
        "result_width": result.width if result else None,
        "result_height": result.height if result else None,
        "idempotency_key": job.idempotency_key,
        "fingerprint": job.fingerprint,
        "callback_url": job.callback_url,
    }


class SqlWebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, delivery: WebhookDelivery) -> None:
        exists = await self._session.scalar(
            select(func.count()).select_from(WebhookDeliveryRow).where(WebhookDeliveryRow.job_id == delivery.job_id)
        )
        if not exists:
            self._session.add(WebhookDeliveryRow(id=delivery.id, **_delivery_columns(delivery)))
            await self._session.flush()

    async def claim_due(self, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
        rows = await self._session.scalars(
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.status == DeliveryStatus.PENDING.value, WebhookDeliveryRow.next_attempt_at <= now)
            .order_by(WebhookDeliveryRow.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_delivery(row) for row in rows]

    async def get(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        row = await self._session.get(WebhookDeliveryRow, delivery_id)
        return _delivery(row) if row else None

    async def save(self, delivery: WebhookDelivery) -> None:
        await self._session.execute(
            update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery.id).values(**_delivery_columns(delivery))
        )


def _delivery(row: WebhookDeliveryRow) -> WebhookDelivery:
    return WebhookDelivery(
        job_id=row.job_id,
        user_id=row.user_id,
        url=row.url,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        id=row.id,
    )


def _delivery_columns(delivery: WebhookDelivery) -> dict[str, object]:
    return {
        "job_id": delivery.job_id,
        "user_id": delivery.user_id,
        "url": delivery.url,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
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
