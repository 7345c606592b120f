"""The asynchronous job API: submit, follow (JSON or server-sent events), download, cancel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage

from domain.jobs import Job, JobStatus
from domain.ports import BlobStore
from domain.use_cases.callbacks import job_document
from domain.use_cases.jobs import (
    CancelJob,
    GetJob,
    GetJobResult,
    GetWebhookSecret,
    ListJobs,
    RotateWebhookSecret,
    SubmitJob,
    result_link,
)
from domain.users import User
from entrypoints.http.auth import SIGNED_IN, current_user
from entrypoints.http.injected import Injected
from entrypoints.http.job_schemas import JobList, JobView, WebhookSecret
from entrypoints.http.rate_limit import rate_limited
from entrypoints.http.removebg_form import NATIVE_DEFAULTS, CutoutOperation, read_cutout_request
from entrypoints.http.route_docs import rules_of
from entrypoints.http.schemas import PageLimit, PageOffset, error_responses, error_spec

EVENTS_POLL_SECONDS = 0.5
EVENTS_KEEPALIVE_SECONDS = 15.0
Blobs = Injected[BlobStore]


async def job_view(blobs: BlobStore, job: Job) -> JobView:
    url = (await result_link(job, blobs)).url if job.result and job.status is JobStatus.SUCCEEDED else None
    return msgspec.convert(job_document(job, url), JobView)


class JobSubmissionController(Controller):
    """Queueing a cut-out: every request counts against its caller's rate limits."""

    path = "/api/v1/jobs"
    tags = ["jobs"]
    security = SIGNED_IN
    dependencies = {"user": rate_limited(current_user)}

    @post(
        "/",
        summary="Queue a cut-out",
        description=rules_of(
            SubmitJob,
            "Takes the same inputs and options as `POST /api/v1/removebg`, plus an optional `callback_url` "
            "that receives the job's JSON when it ends, signed with your webhook secret. With an "
            "`Idempotency-Key` header a retry of the same request returns the same job (200) and charges once.",
        ),
        status_code=202,
        operation_class=CutoutOperation,
        responses={
            200: ResponseSpec(JobView, description="The earlier job with this Idempotency-Key (nothing charged)"),
            400: error_spec("Bad input: invalid_image, image_too_large, missing_source, invalid_option, ..."),
            401: error_spec("Not signed in and no valid API key"),
            402: error_spec("insufficient_credits"),
            415: error_spec("unsupported_format"),
            422: error_spec("idempotency_key_reused, or field_too_long (`details.field`)"),
        },
    )
    async def submit_job(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[User],
        submit_job: Injected[SubmitJob],
        blob_store: Blobs,
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
    ) -> Response[JobView]:
        cutout = await read_cutout_request(request, NATIVE_DEFAULTS)
        callback_url = cutout.fields.get("callback_url")
        submission = await submit_job(
            user, cutout.source, cutout.options, str(callback_url) if callback_url else None, idempotency_key
        )
        view = await job_view(blob_store, submission.job)
        headers = {"Location": f"/api/v1/jobs/{submission.job.id}"}
        return Response(view, status_code=202 if submission.created else 200, headers=headers)


class JobsController(Controller):
    """Following, downloading and canceling one's jobs, and the secret that signs their callbacks."""

    path = "/api/v1"
    tags = ["jobs"]
    security = SIGNED_IN

    @get(
        "/jobs", summary="Your jobs, newest first", description=rules_of(ListJobs), responses=error_responses(400, 401)
    )
    async def list_jobs(
        self,
        user: NamedDependency[User],
        list_jobs: Injected[ListJobs],
        blob_store: Blobs,
        limit: PageLimit = 20,
        offset: PageOffset = 0,
    ) -> JobList:
        jobs, total = await list_jobs(user, limit, offset)
        return JobList([await job_view(blob_store, job) for job in jobs], total, limit, offset)

    @get(
        "/jobs/{job_id:uuid}",
        summary="One job: status, progress, error, result link",
        description=rules_of(GetJob),
        responses={404: error_spec("not_found (also for another user's job)")},
    )
    async def get_job(
        self, user: NamedDependency[User], job_id: FromPath[uuid.UUID], get_job: Injected[GetJob], blob_store: Blobs
    ) -> JobView:
        return await job_view(blob_store, await get_job(user, job_id))

    @get(
        "/jobs/{job_id:uuid}/result",
        summary="Download the result (a redirect to a time-limited link)",
        description=rules_of(GetJobResult),
        status_code=302,
        responses={
            404: error_spec("not_found"),
            409: error_spec("result_not_ready: the job has not succeeded"),
            410: error_spec("result_expired: deleted after the retention window"),
        },
    )
    async def job_result(
        self, user: NamedDependency[User], job_id: FromPath[uuid.UUID], get_job_result: Injected[GetJobResult]
    ) -> Redirect:
        link = await get_job_result(user, job_id)
        return Redirect(link.url, status_code=302)

    @get(
        "/jobs/{job_id:uuid}/events",
        summary="Follow a job as server-sent events",
        description=(
            "Each change of status or progress is an event named `job` whose data is the job's JSON; after "
            "the event of a final status (succeeded, failed, canceled, expired) the stream ends."
        ),
        responses={404: error_spec("not_found")},
    )
    async def job_events(
        self, user: NamedDependency[User], job_id: FromPath[uuid.UUID], get_job: Injected[GetJob], blob_store: Blobs
    ) -> ServerSentEvent:
        first = await get_job(user, job_id)  # a 404 before the stream starts
        return ServerSentEvent(_events(get_job, blob_store, user, first))

    @delete(
        "/jobs/{job_id:uuid}",
        summary="Cancel a queued job and refund it",
        description=rules_of(CancelJob),
        status_code=200,
        responses={404: error_spec("not_found"), 409: error_spec("illegal_transition: the job is no longer queued")},
    )
    async def cancel_job(
        self,
        user: NamedDependency[User],
        job_id: FromPath[uuid.UUID],
        cancel_job: Injected[CancelJob],
        blob_store: Blobs,
    ) -> JobView:
        return await job_view(blob_store, await cancel_job(user, job_id))

    @get("/webhook-secret", summary="The secret that signs your callbacks", description=rules_of(GetWebhookSecret))
    async def webhook_secret(
        self, user: NamedDependency[User], get_webhook_secret: Injected[GetWebhookSecret]
    ) -> WebhookSecret:
        return WebhookSecret(await get_webhook_secret(user))

    @post(
        "/webhook-secret/rotate",
        summary="Replace the callback signing secret",
        description=rules_of(RotateWebhookSecret),
        status_code=200,
    )
    async def rotate_webhook_secret(
        self, user: NamedDependency[User], rotate_webhook_secret: Injected[RotateWebhookSecret]
    ) -> WebhookSecret:
        return WebhookSecret(await rotate_webhook_secret(user))


async def _events(get_job: GetJob, blobs: BlobStore, user: User, job: Job) -> AsyncIterator[ServerSentEventMessage]:
    seen: tuple[str, int] | None = None
    quiet = 0.0
    while True:
        if (job.status.value, job.progress) != seen:
            seen = (job.status.value, job.progress)
            quiet = 0.0
            yield ServerSentEventMessage(data=msgspec.json.encode(await job_view(blobs, job)).decode(), event="job")
            if job.status.is_terminal:
                return
        elif quiet >= EVENTS_KEEPALIVE_SECONDS:
            quiet = 0.0
            yield ServerSentEventMessage(comment="keep-alive")
        await asyncio.sleep(EVENTS_POLL_SECONDS)
        quiet += EVENTS_POLL_SECONDS
        job = await get_job(user, job.id)
