"""The composition root: real adapters from settings, and the use cases wired to any adapters."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from domain.pipeline import CutoutPipeline
from domain.ports import (
    BackgroundRemover,
    BlobStore,
    Clock,
    Imaging,
    LoginAttemptStore,
    PasswordHasher,
    RateLimiter,
    UnitOfWorkFactory,
    UrlFetcher,
    WebhookReceiver,
    WebhookSender,
)
from domain.rate_limits import RateLimit
from domain.recent_reads import RecentReads
from domain.use_cases.accounts import Authenticate, LogIn, LogOut, SignUp, StartSession
from domain.use_cases.address_limits import AddressLimit
from domain.use_cases.api_keys import CreateApiKey, ListApiKeys, RevokeApiKey
from domain.use_cases.callbacks import DeliverCallbacks
from domain.use_cases.contact import ListContactMessages, SendContactMessage
from domain.use_cases.credits import GetBalance, GetStatement, GrantCredits
from domain.use_cases.housekeeping import PurgeExpiredRecords
from domain.use_cases.jobs import (
    CancelJob,
    GetJob,
    GetJobResult,
    GetWebhookSecret,
    ListJobs,
    RotateWebhookSecret,
    SubmitJob,
)
from domain.use_cases.previews import AnonymousPreview
from domain.use_cases.queue import ExpireOldJobs, Lease, PurgeSyncJobRecords, ReclaimExpiredLeases, RunJobs
from domain.use_cases.remove_background import RemoveBackground
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from adapters.cpu import CpuPool
    from adapters.replicate_remover import ReplicateRemover
    from adapters.replicate_webhooks import ReplicateWebhookReceiver

ReadinessCheck = Callable[[], Awaitable[None]]
Closer = Callable[[], Awaitable[None]]
REPLICATE_WEBHOOK_PATH = "/api/v1/webhooks/replicate"


@dataclass
class Adapters:
    """Everything the use cases reach the world through. Tests build one from fakes."""

    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock
    imaging: Imaging
    remover: BackgroundRemover
    fetcher: UrlFetcher
    rate_limiter: RateLimiter
    login_attempts: LoginAttemptStore
    blob_store: BlobStore
    webhook_sender: WebhookSender
    webhooks: WebhookReceiver | None = None  # Replicate's, when inference runs there
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in self.closers:
            await close()


def build_adapters(settings: Settings) -> Adapters:
    """The real adapters for ``settings``; loads and warms the local model, or sets up Replicate's client."""
    from adapters.argon2_hasher import Argon2Hasher
    from adapters.clock import SystemClock
    from adapters.cpu import CpuPool
    from adapters.imaging import PillowImaging
    from adapters.onnx_remover import OnnxRemover
    from adapters.sql.engine import create_engine
    from adapters.sql.login_attempts import SqlLoginAttempts
    from adapters.sql.rate_limiter import SqlRateLimiter
    from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
    from adapters.url_fetcher import SafeUrlFetcher
    from adapters.webhook_sender import SignedWebhookSender

    if settings.inference not in ("local", "replicate"):
        raise SystemExit(f"CUTOUT_INFERENCE={settings.inference!r} is not known; use 'local' or 'replicate'.")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cpu = CpuPool()
    uow = SqlUnitOfWorkFactory(create_engine(settings.database_url))
    clock = SystemClock()
    blob_store, blob_store_closers = build_blob_store(settings, clock)
    checks: dict[str, ReadinessCheck] = {"database": uow.ping}
    closers: list[Closer] = [uow.engine.dispose, *blob_store_closers]
    remover: BackgroundRemover
    webhooks = None
    if settings.inference == "replicate":
        replicate, webhooks = _replicate(settings, cpu, uow.engine, clock, blob_store)
        remover, checks["replicate"] = replicate, replicate.check
        closers.insert(0, replicate.aclose)  # its last cancellations still use the database
    else:
        onnx = OnnxRemover(cpu, settings.model_path)
        onnx.warm()
        remover, checks["model"] = onnx, onnx.check
    checks["storage"] = blob_store.check
    return Adapters(
        uow=uow,
        hasher=Argon2Hasher(),
        clock=clock,
        imaging=PillowImaging(cpu),
        remover=remover,
        fetcher=SafeUrlFetcher(),
        rate_limiter=SqlRateLimiter(uow.engine, clock),
        login_attempts=SqlLoginAttempts(uow.engine),
        blob_store=blob_store,
        webhook_sender=SignedWebhookSender(),
        webhooks=webhooks,
        checks=checks,
        closers=closers,
    )


def build_blob_store(settings: Settings, clock: Clock) -> tuple[BlobStore, list[Closer]]:
    """The store ``CUTOUT_STORAGE_URL`` names (``file://`` or ``s3://``), and what closes it."""
    from adapters.fs_store import FsBlobStore
    from adapters.s3_store import S3BlobStore

    url = urlsplit(settings.storage_url)
    if url.scheme == "s3":
        s3 = S3BlobStore(url.netloc, url.path, settings.s3_endpoint_url, settings.s3_region)
        return s3, [s3.aclose]
    return FsBlobStore(Path(unquote(url.path)), settings.public_url, settings.secret_key, clock), []


def _replicate(
    settings: Settings, cpu: CpuPool, engine: AsyncEngine, clock: Clock, blob_store: BlobStore
) -> tuple[ReplicateRemover, ReplicateWebhookReceiver]:
    """The Replicate remover and the receiver of its webhooks; a missing token or unknown model stops startup."""
    from adapters.replicate_models import resolve
    from adapters.replicate_remover import ReplicateRemover, replicate_client
    from adapters.replicate_webhooks import ReplicateWebhookReceiver
    from adapters.sql.prediction_inbox import SqlPredictionInbox

    if not settings.replicate_api_token:
        raise SystemExit("CUTOUT_INFERENCE=replicate needs REPLICATE_API_TOKEN (replicate.com/account/api-tokens).")
    try:
        model = resolve(settings.replicate_model)
    except ValueError as error:
        raise SystemExit(f"CUTOUT_REPLICATE_MODEL: {error}") from None
    client = replicate_client(settings.replicate_api_token, settings.replicate_base_url)
    inbox = SqlPredictionInbox(engine, clock)
    # Only an explicitly configured public URL is one Replicate could reach; otherwise polling alone.
    webhook_url = settings.public_url + REPLICATE_WEBHOOK_PATH if settings.public_url_configured else None
    # Large inputs go up as blob URLs, which Replicate can fetch from S3, or from a disk store's signed
    # links only at a public URL; otherwise they go up inline like small ones.
    reachable = settings.storage_url.startswith("s3://") or settings.public_url_configured
    blobs = blob_store if reachable else None
    remover = ReplicateRemover(client, model, cpu, blobs=blobs, inbox=inbox, webhook_url=webhook_url)
    return remover, ReplicateWebhookReceiver(client, inbox)


@dataclass
class OperatorServices:
    """The use cases the operator's CLI runs (``cutout user create``, ``credits grant``, ``messages``)."""

    sign_up: SignUp
    grant_credits: GrantCredits
    list_contact_messages: ListContactMessages


def wire_operator(
    settings: Settings,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    clock: Clock,
    signups: AddressLimit | None = None,
) -> OperatorServices:
    """The operator's use cases, as the server wires them; the CLI passes no per-address sign-up limit."""
    return OperatorServices(
        sign_up=SignUp(uow, hasher, clock, settings.signup_credits, signups),
        grant_credits=GrantCredits(uow, clock),
        list_contact_messages=ListContactMessages(uow),
    )


@dataclass
class Services:
    """The use cases, wired once per app (``create_app``'s lifespan) or per worker process, and provided to
    the routes by name (``entrypoints.http.dependencies``)."""

    sign_up: SignUp
    log_in: LogIn
    start_session: StartSession
    log_out: LogOut
    authenticate: Authenticate
    create_api_key: CreateApiKey
    list_api_keys: ListApiKeys
    revoke_api_key: RevokeApiKey
    get_balance: GetBalance
    get_statement: GetStatement
    grant_credits: GrantCredits
    remove_background: RemoveBackground
    submit_job: SubmitJob
    get_job: GetJob
    list_jobs: ListJobs
    cancel_job: CancelJob
    get_job_result: GetJobResult
    get_webhook_secret: GetWebhookSecret
    rotate_webhook_secret: RotateWebhookSecret
    run_jobs: RunJobs
    reclaim_expired_leases: ReclaimExpiredLeases
    expire_old_jobs: ExpireOldJobs
    purge_sync_job_records: PurgeSyncJobRecords
    deliver_callbacks: DeliverCallbacks
    purge_expired_records: PurgeExpiredRecords
    anonymous_preview: AnonymousPreview
    send_contact_message: SendContactMessage
    list_contact_messages: ListContactMessages


async def wire(settings: Settings, adapters: Adapters) -> Services:
    uow, clock, hasher, blobs = adapters.uow, adapters.clock, adapters.hasher, adapters.blob_store
    recent = RecentReads(settings.auth_cache_seconds)
    uow.on_balance_change(recent.forget_balance)
    pipeline = CutoutPipeline(adapters.imaging, adapters.remover, adapters.fetcher)
    get_job = GetJob(uow)
    remove_background = RemoveBackground(uow, pipeline, clock)
    limiter = adapters.rate_limiter
    signups = AddressLimit(
        limiter,
        "signup",
        RateLimit(settings.signups_per_hour, 3600),
        "Several accounts were made from this address already; try again later.",
    )
    logins = AddressLimit(
        limiter,
        "login",
        RateLimit(settings.logins_per_minute, 60),
        "Too many sign-in attempts from this address; wait a moment and try again.",
    )
    operator = wire_operator(settings, uow, hasher, clock, signups)
    return Services(
        sign_up=operator.sign_up,
        log_in=LogIn(
            uow, hasher, clock, adapters.login_attempts, await hasher.hash(os.urandom(16).hex()), per_address=logins
        ),
        start_session=StartSession(uow, clock),
        log_out=LogOut(uow, recent),
        authenticate=Authenticate(uow, clock, recent),
        create_api_key=CreateApiKey(uow, clock, settings.max_api_keys),
        list_api_keys=ListApiKeys(uow),
        revoke_api_key=RevokeApiKey(uow, clock, recent),
        get_balance=GetBalance(uow, recent),
        get_statement=GetStatement(uow),
        grant_credits=operator.grant_credits,
        remove_background=remove_background,
        submit_job=SubmitJob(uow, pipeline, blobs, clock),
        get_job=get_job,
        list_jobs=ListJobs(uow),
        cancel_job=CancelJob(uow, clock),
        get_job_result=GetJobResult(get_job, blobs),
        get_webhook_secret=GetWebhookSecret(uow),
        rotate_webhook_secret=RotateWebhookSecret(uow),
        run_jobs=RunJobs(uow, pipeline, blobs, clock, Lease(timedelta(seconds=settings.job_lease_seconds))),
        reclaim_expired_leases=ReclaimExpiredLeases(uow, clock),
        expire_old_jobs=ExpireOldJobs(uow, blobs, clock, timedelta(hours=settings.retention_hours)),
        purge_sync_job_records=PurgeSyncJobRecords(uow, clock, timedelta(hours=settings.retention_hours)),
        deliver_callbacks=DeliverCallbacks(uow, adapters.webhook_sender, blobs, clock),
        purge_expired_records=PurgeExpiredRecords(uow, limiter, adapters.login_attempts, clock),
        anonymous_preview=AnonymousPreview(remove_background),
        send_contact_message=SendContactMessage(uow, adapters.rate_limiter, clock),
        list_contact_messages=operator.list_contact_messages,
    )
