"""What a route handler can ask for by name (``sign_up: Injected[SignUp]``), declared once at the app.

Every use case of ``Services`` is provided under its field name; the use cases are wired once per app by
its lifespan (``wire`` is async), so each provider hands out the instance the running app holds. Beside
them: the settings, the CSRF config, the per-caller ``rate_limits``, and the few adapters a route uses
directly (the blob store, the readiness checks, Replicate's webhook receiver).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.di import Provide

from entrypoints.bootstrap import Adapters, Services
from entrypoints.http.auth import current_user
from entrypoints.http.rate_limit import RateLimits
from entrypoints.settings import Settings


class Wiring:
    """The use cases of one app: set by its lifespan when it starts, read by its routes' providers."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def start(self, services: Services) -> None:
        self._services = services

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("The app has not started: its use cases are wired by its lifespan.")
        return self._services


def app_dependencies(settings: Settings, adapters: Adapters, csrf: CSRFConfig, wiring: Wiring) -> dict[str, Provide]:
    """The app-level providers: each use case by its ``Services`` name, and what routes read besides."""
    rate_limits = RateLimits(settings, adapters.rate_limiter, adapters.clock)
    return {
        **{field.name: Provide(_use_case(wiring, field.name), sync_to_thread=False) for field in fields(Services)},
        "settings": _value(settings),
        "csrf_config": _value(csrf),
        "rate_limits": _value(rate_limits),
        "blob_store": _value(adapters.blob_store),
        "readiness_checks": _value(adapters.checks),
        "webhooks": _value(adapters.webhooks),
        "user": Provide(current_user),
    }


def _use_case(wiring: Wiring, name: str) -> Callable[[], Any]:
    def provide() -> Any:
        return getattr(wiring.services, name)

    provide.__name__ = f"provide_{name}"
    return provide


def _value(value: object) -> Provide:
    def provide() -> Any:
        return value

    return Provide(provide, use_cache=True, sync_to_thread=False)
