"""A job as a row and back: its columns, and the options (and background key) its JSON keeps."""

from __future__ import annotations

import msgspec

from adapters.sql.models import JobRow
from domain.cutouts import CutoutOptions
from domain.jobs import Job, JobResult, JobStatus


def job_of(row: JobRow) -> Job:
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


_BACKGROUND_KEY = "background_key"
"""Where the blob key of a job's background image rides in the ``options`` JSON, beside the cut-out options."""


def _options_column(job: Job) -> dict[str, object]:
    options: dict[str, object] = msgspec.to_builtins(job.options)
    if job.background_key:
        options[_BACKGROUND_KEY] = job.background_key
    return options


def job_columns(job: Job) -> dict[str, object]:
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
