"""The asynchronous job API: submit, follow (JSON or server-sent events), download, cancel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage

from domain.jobs import Job, JobStatus
from domain.ports import BlobStore
from domain.use_cases.callbacks import job_document
from domain.use_cases.jobs import result_link
from domain.users import User
from entrypoints.bootstrap import Services
from entrypoints.http.auth import SIGNED_IN
from entrypoints.http.job_schemas import JobList, JobView, WebhookSecret
from entrypoints.http.rate_limit import enforce_rate_limit
from entrypoints.http.removebg_form import NATIVE_DEFAULTS, CutoutOperation, read_cutout_request
from entrypoints.http.schemas import PageLimit, PageOffset, error_responses, error_spec

EVENTS_POLL_SECONDS = 0.5
EVENTS_KEEPALIVE_SECONDS = 15.0


async def job_view(request: Request[Any, Any, Any], job: Job) -> JobView:
    blobs: BlobStore = request.app.state.adapters.blob_store
    url = (await result_link(job, blobs)).url if job.result and job.status is JobStatus.SUCCEEDED else None
    return msgspec.convert(job_document(job, url), JobView)


@post(
    "/api/v1/jobs",
    security=SIGNED_IN,
    tags=["jobs"],
    summary="Queue a cut-out",
    description=(
        "Takes the same inputs and options as `POST /api/v1/removebg`, plus an optional `callback_url` that "
        "receives the job's JSON when it ends, signed with your webhook secret. The price is reserved now "
        "and refunded if the job fails, is canceled or expires unrun. With an `Idempotency-Key` header a "
        "retry of the same request returns the same job and charges once; reusing the key for another "
        "request is a 422."
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
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
) -> Response[JobView]:
    await enforce_rate_limit(request, user)
    services: Services = request.app.state.services
    cutout = await read_cutout_request(request, NATIVE_DEFAULTS)
    callback_url = cutout.fields.get("callback_url")
    submission = await services.submit_job(
        user, cutout.source, cutout.options, str(callback_url) if callback_url else None, idempotency_key
    )
    view = await job_view(request, submission.job)
    headers = {"Location": f"/api/v1/jobs/{submission.job.id}"}
    return Response(view, status_code=202 if submission.created else 200, headers=headers)


@get(
    "/api/v1/jobs",
    security=SIGNED_IN,
    tags=["jobs"],
    summary="Your jobs, newest first",
    responses=error_responses(400, 401),
)
async def list_jobs(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    limit: PageLimit = 20,
    offset: PageOffset = 0,
) -> JobList:
    services: Services = request.app.state.services
    jobs, total = await services.list_jobs(user, limit, offset)
    return JobList([await job_view(request, job) for job in jobs], total, limit, offset)


@get(
    "/api/v1/jobs/{job_id:uuid}",
    security=SIGNED_IN,
    tags=["jobs"],
    summary="One job: status, progress, error, result link",
    responses={404: error_spec("not_found (also for another user's job)")},
)
async def get_job(request: Request[Any, Any, Any], user: NamedDependency[User], job_id: FromPath[uuid.UUID]) -> JobView:
    services: Services = request.app.state.services
    return await job_view(request, await services.get_job(user, job_id))


@get(
    "/api/v1/jobs/{job_id:uuid}/result",
    security=SIGNED_IN,
    tags=["jobs"],
    summary="Download the result (a redirect to a time-limited link)",
    status_code=302,
    responses={
        404: error_spec("not_found"),
        409: error_spec("result_not_ready: the job has not succeeded"),
        410: error_spec("result_expired: deleted after the retention window"),
    },
)
async def job_result(
    request: Request[Any, Any, Any], user: NamedDependency[User], job_id: FromPath[uuid.UUID]
) -> Redirect:
    services: Services = request.app.state.services
    link = await services.get_job_result(user, job_id)
    return Redirect(link.url, status_code=302)


@get(
    "/api/v1/jobs/{job_id:uuid}/events",
    security=SIGNED_IN,
    tags=["jobs"],
    summary="Follow a job as server-sent events",
    description=(
        "Each change of status or progress is an event named `job` whose data is the job's JSON; after "
        "the event of a final status (succeeded, failed, canceled, expired) the stream ends."
    ),
    responses={404: error_spec("not_found")},
)
async def job_events(
    request: Request[Any, Any, Any], user: NamedDependency[User], job_id: FromPath[uuid.UUID]
) -> ServerSentEvent:
    services: Services = request.app.state.services
    first = await services.get_job(user, job_id)  # a 404 before the stream starts
    return ServerSentEvent(_events(request, user, first))


async def _events(request: Request[Any, Any, Any], user: User, job: Job) -> AsyncIterator[ServerSentEventMessage]:
    services: Services = request.app.state.services
    seen: tuple[str, int] | None = None
    quiet = 0.0
    while True:
        if (job.status.value, job.progress) != seen:
            seen = (job.status.value, job.progress)
            quiet = 0.0
            yield ServerSentEventMessage(data=msgspec.json.encode(await job_view(request, job)).decode(), event="job")
            if job.status.is_terminal:
                return
        elif quiet >= EVENTS_KEEPALIVE_SECONDS:
            quiet = 0.0
            yield ServerSentEventMessage(comment="keep-alive")
        await asyncio.sleep(EVENTS_POLL_SECONDS)
        quiet += EVENTS_POLL_SECONDS
        job = await services.get_job(user, job.id)


@delete(
    "/api/v1/jobs/{job_id:uuid}",
    security=SIGNED_IN,
    tags=["jobs"],
    summary="Cancel a queued job and refund it",
    status_code=200,
    responses={404: error_spec("not_found"), 409: error_spec("illegal_transition: the job is no longer queued")},
)
async def cancel_job(
    request: Request[Any, Any, Any], user: NamedDependency[User], job_id: FromPath[uuid.UUID]
) -> JobView:
    services: Services = request.app.state.services
    return await job_view(request, await services.cancel_job(user, job_id))


@get("/api/v1/webhook-secret", security=SIGNED_IN, tags=["jobs"], summary="The secret that signs your callbacks")
async def webhook_secret(request: Request[Any, Any, Any], user: NamedDependency[User]) -> WebhookSecret:
    services: Services = request.app.state.services
    return WebhookSecret(await services.get_webhook_secret(user))


@post(
    "/api/v1/webhook-secret/rotate",
    security=SIGNED_IN,
    tags=["jobs"],
    summary="Replace the callback signing secret",
    status_code=200,
)
async def rotate_webhook_secret(request: Request[Any, Any, Any], user: NamedDependency[User]) -> WebhookSecret:
    services: Services = request.app.state.services
    return WebhookSecret(await services.rotate_webhook_secret(user))
