"""The job repository: jobs claimed, reaped and swept with ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.sql.job_rows import job_columns, job_of
from adapters.sql.models import JobRow
from adapters.sql.results import rowcount
from domain.jobs import Job, JobStatus


class SqlJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, job: Job) -> None:
        """A (user, Idempotency-Key) another job holds is ``IdempotencyKeyTaken`` (``errors.py``)."""
        self._session.add(JobRow(id=job.id, **job_columns(job)))
        await self._session.flush()

    async def get(self, job_id: uuid.UUID) -> Job | None:
        row = await self._session.get(JobRow, job_id)
        return job_of(row) if row else None

    async def lock(self, job_id: uuid.UUID) -> Job | None:
        row = await self._session.scalar(select(JobRow).where(JobRow.id == job_id).with_for_update())
        return job_of(row) if row else None

    async def save(self, job: Job) -> None:
        await self._session.execute(update(JobRow).where(JobRow.id == job.id).values(**job_columns(job)))

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
        moved = await self._session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value, JobRow.worker_id == worker_id)
            .values(lease_expires_at=lease_until, progress=progress)
        )
        return rowcount(moved) == 1

    async def get_by_idempotency_key(self, user_id: uuid.UUID, key: str) -> Job | None:
        row = await self._session.scalar(select(JobRow).where(JobRow.user_id == user_id, JobRow.idempotency_key == key))
        return job_of(row) if row else None

    async def list_for_user(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[Job], int]:
        mine = (JobRow.user_id == user_id, JobRow.sync.is_(False))
        total = await self._session.scalar(select(func.count()).select_from(JobRow).where(*mine))
        rows = await self._session.scalars(
            select(JobRow).where(*mine).order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit).offset(offset)
        )
        return [job_of(row) for row in rows], total or 0

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
            await self._session.scalars(
                select(JobRow.id)
                .where(JobRow.created_at < created_before, JobRow.sync.is_(True), JobRow.status.in_(ended))
                .order_by(JobRow.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            await self._session.execute(delete(JobRow).where(JobRow.id.in_(ids)))
        return len(ids)

    async def _locked(self, query: Select[tuple[JobRow]]) -> list[Job]:
        """Run ``query`` locking its rows and skipping rows another transaction holds.

        MySQL/MariaDB: ``FOR UPDATE SKIP LOCKED``. SQLite has no row locks; every write
        transaction there begins IMMEDIATE (see ``engine.py``), so it runs alone anyway.
        """
        rows = await self._session.scalars(query.with_for_update(skip_locked=True))
        return [job_of(row) for row in rows]
