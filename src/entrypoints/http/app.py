"""The Litestar application factory. It takes its adapters as an argument, so tests pass fakes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from domain.cutouts import MAX_UPLOAD_BYTES
from entrypoints.bootstrap import Adapters, wire
from entrypoints.http.auth import SESSION_COOKIE, CookieCSRFMiddleware, current_user
from entrypoints.http.body_parsing import BodyParsingRequest
from entrypoints.http.controllers import (
    accounts,
    api_keys,
    blobs,
    contact,
    credits,
    health,
    jobs,
    plans,
    remove_bg_v1,
    removebg,
)
from entrypoints.http.controllers import webhooks as webhook_controllers
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.rate_limit import add_rate_limit_headers
from entrypoints.http.request_id import add_request_id
from entrypoints.http.site import site_router
from entrypoints.settings import Settings
from entrypoints.worker import Schedule, Worker, new_worker_id, run_until_stopped

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 10.0


def create_app(settings: Settings, adapters: Adapters, schedule: Schedule | None = None) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.adapters = adapters
        app.state.csrf = csrf
        app.state.services = services = await wire(settings, adapters)
        # Every server runs the shared chores; it also runs jobs unless separate workers do.
        concurrency = settings.worker_concurrency if settings.server_worker else 0
        worker = Worker(services, concurrency, schedule or Schedule.for_settings(settings), new_worker_id())
        stop = asyncio.Event()
        working = asyncio.create_task(run_until_stopped(worker, stop, SHUTDOWN_GRACE_SECONDS))
        try:
            yield
        finally:
            stop.set()
            await working
            await adapters.aclose()

    csrf = CSRFConfig(secret=settings.secret_key, cookie_secure=settings.secure_cookies)
    return Litestar(
        route_handlers=[
            health.live,
            health.ready,
            accounts.sign_up,
            accounts.log_in,
            accounts.log_out,
            accounts.me,
            api_keys.create_api_key,
            api_keys.list_api_keys,
            api_keys.revoke_api_key,
            credits.credits,
            removebg.remove_background,
            blobs.download_blob,
            jobs.submit_job,
            jobs.list_jobs,
            jobs.get_job,
            jobs.job_result,
            jobs.job_events,
            jobs.cancel_job,
            jobs.webhook_secret,
            jobs.rotate_webhook_secret,
            remove_bg_v1.router,
            accounts.session,
            plans.plans,
            contact.contact,
            webhook_controllers.replicate,
            site_router(settings.site_dir),
        ],
        dependencies={"user": Provide(current_user)},
        middleware=[DefineMiddleware(CookieCSRFMiddleware, config=csrf)],
        before_send=[add_request_id, add_rate_limit_headers],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        request_max_body_size=MAX_UPLOAD_BYTES,
        request_class=BodyParsingRequest,
        openapi_config=_openapi(),
        debug=False,
    )


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Cutout API",
        version="0.1.0",
        description="Background removal with credits. Authenticate with `X-Api-Key: <key>` or a session cookie.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin()],
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(type="apiKey", name="X-Api-Key", security_scheme_in="header"),
                "bearer": SecurityScheme(type="http", scheme="bearer"),
                "session": SecurityScheme(type="apiKey", name=SESSION_COOKIE, security_scheme_in="cookie"),
            }
        ),
    )
