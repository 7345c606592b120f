"""The composition root: real adapters from settings, and the use cases wired to any adapters."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from domain.ports import (
    BackgroundRemover,
    Clock,
    Imaging,
    PasswordHasher,
    RateLimiter,
    UnitOfWorkFactory,
    UrlFetcher,
)
from domain.throttle import LoginThrottle
from domain.use_cases.accounts import Authenticate, LogIn, LogOut, SignUp, StartSession
from domain.use_cases.api_keys import CreateApiKey, ListApiKeys, RevokeApiKey
from domain.use_cases.contact import ListContactMessages, SendContactMessage
from domain.use_cases.credits import GetBalance, GetStatement, GrantCredits
from domain.use_cases.previews import AnonymousPreview
from domain.use_cases.remove_background import ReclaimExpiredLeases, RemoveBackground
from entrypoints.settings import Settings

ReadinessCheck = Callable[[], Awaitable[None]]


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
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in self.closers:
            await close()


def build_adapters(settings: Settings) -> Adapters:
    """The real adapters for ``settings``; loads and warms the model."""
    from adapters.argon2_hasher import Argon2Hasher
    from adapters.clock import SystemClock
    from adapters.cpu import CpuPool
    from adapters.imaging import PillowImaging
    from adapters.onnx_remover import OnnxRemover
    from adapters.sql.engine import create_engine
    from adapters.sql.rate_limiter import SqlRateLimiter
    from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
    from adapters.url_fetcher import SafeUrlFetcher

    if settings.inference != "local":
        raise SystemExit(f"CUTOUT_INFERENCE={settings.inference!r} is not available yet; use 'local'.")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cpu = CpuPool()
    remover = OnnxRemover(cpu, settings.model_path)
    remover.warm()
    uow = SqlUnitOfWorkFactory(create_engine(settings.database_url))
    clock = SystemClock()
    return Adapters(
        uow=uow,
        hasher=Argon2Hasher(),
        clock=clock,
        imaging=PillowImaging(cpu),
        remover=remover,
        fetcher=SafeUrlFetcher(),
        rate_limiter=SqlRateLimiter(uow.engine, clock),
        checks={"database": uow.ping, "model": remover.check, "storage": lambda: _check_writable(settings.data_dir)},
        closers=[uow.engine.dispose],
    )


async def _check_writable(directory: Path) -> None:
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".ready-"):
        pass


@dataclass
class Services:
    """The use cases, wired once per process."""

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
    reclaim_expired_leases: ReclaimExpiredLeases
    anonymous_preview: AnonymousPreview
    send_contact_message: SendContactMessage
    list_contact_messages: ListContactMessages


async def wire(settings: Settings, adapters: Adapters) -> Services:
    uow, clock, hasher = adapters.uow, adapters.clock, adapters.hasher
    remove_background = RemoveBackground(uow, adapters.imaging, adapters.remover, adapters.fetcher, clock)
    return Services(
        sign_up=SignUp(uow, hasher, clock, settings.signup_credits),
        log_in=LogIn(uow, hasher, clock, LoginThrottle(), dummy_hash=await hasher.hash(os.urandom(16).hex())),
        start_session=StartSession(uow, clock),
        log_out=LogOut(uow),
        authenticate=Authenticate(uow, clock),
        create_api_key=CreateApiKey(uow, clock),
        list_api_keys=ListApiKeys(uow),
        revoke_api_key=RevokeApiKey(uow, clock),
        get_balance=GetBalance(uow),
        get_statement=GetStatement(uow),
        grant_credits=GrantCredits(uow, clock),
        remove_background=remove_background,
        reclaim_expired_leases=ReclaimExpiredLeases(uow, clock),
        anonymous_preview=AnonymousPreview(remove_background, adapters.rate_limiter, clock),
        send_contact_message=SendContactMessage(uow, adapters.rate_limiter, clock),
        list_contact_messages=ListContactMessages(uow),
    )
