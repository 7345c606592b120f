"""Every route of the app either counts its caller against the rate limits or is exempt for a stated reason.

The limit is owned by the ``user`` provider of a limited controller (``rate_limited``), so this test asks
each route of the real app what its ``user`` is. A new route that takes an image must be limited; any
other new route must either be limited too or sit in a controller listed below, with its reason."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from api.conftest import fake_adapters, make_settings
from entrypoints.http.app import create_app
from entrypoints.http.rate_limit import RateLimitedUser
from entrypoints.http.removebg_form import CutoutOperation

UNLIMITED = {
    "HealthController": "probes of the process, called by the orchestrator",
    "AccountsController": "sign-up and log-in count per client address in their use cases",
    "ApiKeysController": "at most CUTOUT_MAX_API_KEYS keys an account, no work per call",
    "CreditsController": "reads of one's own ledger",
    "JobsController": "following one's own queued cut-outs, which were counted at submit",
    "PlansController": "a static catalogue",
    "ContactController": "SendContactMessage counts per client address",
    "WebhooksController": "Replicate's signed deliveries",
    "BlobsController": "signed download links",
    "AccountController": "remove.bg's account read",
}
SITE_PATHS = ("/", "/{file_path:path}")  # the static pages; Litestar's OpenAPI pages are under /schema


def api_handlers(app: Litestar) -> list[tuple[str, HTTPRouteHandler]]:
    return [
        (route.path, handler)
        for route in app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith("/schema") and route.path not in SITE_PATHS
        for handler in route.route_handlers
        if "OPTIONS" not in handler.http_methods
    ]


def is_limited(handler: HTTPRouteHandler) -> bool:
    """Its ``user`` is a counting provider, and the handler takes ``user``, so that provider runs."""
    user = handler.resolve_dependencies().get("user")
    return isinstance(user, RateLimitedUser) and "user" in handler.parsed_fn_signature.parameters


def controller_of(handler: HTTPRouteHandler) -> str:
    return handler.fn.__qualname__.partition(".")[0]


def test_every_route_is_rate_limited_or_exempt_for_a_reason(tmp_path: Path) -> None:
    handlers = api_handlers(create_app(make_settings(tmp_path), fake_adapters()))
    assert len(handlers) >= 26
    unaccounted = [
        (path, sorted(h.http_methods))
        for path, h in handlers
        if not is_limited(h) and controller_of(h) not in UNLIMITED
    ]
    assert unaccounted == []


def test_every_route_that_takes_an_image_is_limited(tmp_path: Path) -> None:
    handlers = api_handlers(create_app(make_settings(tmp_path), fake_adapters()))
    cut_outs = {(path, *h.http_methods) for path, h in handlers if h.operation_class is CutoutOperation}
    limited = {(path, *h.http_methods) for path, h in handlers if is_limited(h)}
    assert cut_outs == {("/api/v1/removebg", "POST"), ("/api/v1/jobs", "POST"), ("/v1.0/removebg", "POST")}
    assert limited == cut_outs
