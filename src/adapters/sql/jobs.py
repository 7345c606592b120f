"""The job queue's rows: jobs (claimed with ``FOR UPDATE SKIP LOCKED``) and the options they keep."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.sql.models import JobRow
from adapters.sql.results import rowcount
from domain.cutouts import CutoutOptions
from domain.jobs import Job, JobResult, JobStatus


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


class SqlJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, job: Job) -> None:
        """A (user, Idempotency-Key) another job holds is ``IdempotencyKeyTaken`` (``errors.py``)."""
        self._session.add(JobRow(id=job.id, **_job_columns(job)))
        await self._session.flush()

    async def get(self, job_id: uuid.UUID) -> Job | None:
        row = await self._session.get(JobRow, job_id)
        return _job(row) if row else None

    async def lock(self, job_id: uuid.UUID) -> Job | None:
        row = await self._session.scalar(select(JobRow).where(JobRow.id == job_id).with_for_update())
        return _job(row) if row else None

    async def save(self, job: Job) -> None:
        await self._session.execute(update(JobRow).where(JobRow.id == job.id).values(**_job_columns(job)))

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
        return _job(row) if row else None

    async def list_for_user(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[Sequence[Job], int]:
        mine = (JobRow.user_id == user_id, JobRow.sync.is_(False))
        total = await self._session.scalar(select(func.count()).select_from(JobRow).where(*mine))
        rows = await self._session.scalars(
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
