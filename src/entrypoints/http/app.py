"""The Litestar application factory. It takes its adapters as an argument, so tests pass fakes.

Routes come in controllers, one per area, each carrying its path, tags and OpenAPI security; handlers
declare the use cases and values they need by name, provided at the app level (``dependencies.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from domain.cutouts import MAX_UPLOAD_BYTES
from entrypoints.bootstrap import Adapters, wire
from entrypoints.http.auth import SESSION_COOKIE, CookieCSRFMiddleware
from entrypoints.http.body_parsing import BodyParsingRequest
from entrypoints.http.controllers import remove_bg_v1
from entrypoints.http.controllers.accounts import AccountsController
from entrypoints.http.controllers.api_keys import ApiKeysController
from entrypoints.http.controllers.blobs import BlobsController
from entrypoints.http.controllers.contact import ContactController
from entrypoints.http.controllers.credits import CreditsController
from entrypoints.http.controllers.health import HealthController
from entrypoints.http.controllers.jobs import JobsController, JobSubmissionController
from entrypoints.http.controllers.plans import PlansController
from entrypoints.http.controllers.removebg import CutoutController
from entrypoints.http.controllers.webhooks import WebhooksController
from entrypoints.http.dependencies import Wiring, app_dependencies
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.rate_limit import add_rate_limit_headers
from entrypoints.http.request_id import add_request_id
from entrypoints.http.site import site_router
from entrypoints.settings import Settings
from entrypoints.worker import Schedule, Worker, new_worker_id, run_until_stopped

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 10.0
CONTROLLERS = [
    HealthController,
    AccountsController,
    ApiKeysController,
    CreditsController,
    CutoutController,
    BlobsController,
    JobSubmissionController,
    JobsController,
    PlansController,
    ContactController,
    WebhooksController,
]


def create_app(settings: Settings, adapters: Adapters, schedule: Schedule | None = None) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await wire(settings, adapters)
        wiring.start(services)
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
    wiring = Wiring()
    return Litestar(
        # One router for the API, so that two controllers can share a path (``/api/v1/jobs``).
        route_handlers=[Router("/", route_handlers=CONTROLLERS), remove_bg_v1.router, site_router(settings.site_dir)],
        dependencies=app_dependencies(settings, adapters, csrf, wiring),
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
