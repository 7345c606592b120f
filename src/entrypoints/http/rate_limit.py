"""Rate limits for any route, counted per caller in the database every server process shares.

A limited route's layer (its controller) provides ``user`` as ``rate_limited(<how callers authenticate>)``:
the caller, authenticated and then counted, before the handler runs and so before it reads the body. A
handler of that layer cannot learn who calls without the request being counted, and no handler calls
anything for it. ``user`` is the signed-in caller, or None for an anonymous one.
One request counts in every bucket of its caller (``caller_limits``):

- an API key: its key's and its account's (``CUTOUT_RATE_LIMIT_PER_MINUTE`` each), so rotating keys gains nothing;
- a session cookie: its account's;
- anonymous: its client address's, per minute (``CUTOUT_ANONYMOUS_RATE_LIMIT_PER_MINUTE``) and per hour
  (``CUTOUT_ANONYMOUS_PREVIEWS_PER_HOUR``).

Every answer to that request, errors included, then carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (epoch seconds) of the binding limit: the one that
refused, else the one with the fewest requests left. A refused one is 429 ``rate_limited`` with
``Retry-After`` until that limit's window resets. The headers are written by ``add_rate_limit_headers``,
a ``before_send`` hook of the app, so no exception handler has to copy them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.di import Provide
from litestar.types import Message, Scope

from domain.api_keys import hash_secret
from domain.errors import RateLimited
from domain.ports import Clock, RateLimiter
from domain.rate_limits import RateLimit, RateLimitState, binding
from domain.use_cases.accounts import Authenticate
from domain.users import User
from entrypoints.http.auth import api_key_of, client_ip
from entrypoints.http.injected import Injected
from entrypoints.settings import Settings

WINDOW_SECONDS = 60
HOUR_SECONDS = 3600
_STATE_KEY = "cutout_rate_limit"


def caller_key(request: Request[Any, Any, Any], user: User | None) -> str:
    """The bucket a request counts in: its API key, its account, or (anonymous) its client address."""
    if user is None:
        return f"ip:{client_ip(request)}"
    if key := api_key_of(request.headers):
        return f"key:{hash_secret(key)[:40]}"
    return f"user:{user.id}"


def caller_limits(
    request: Request[Any, Any, Any], user: User | None, settings: Settings
) -> list[tuple[str, RateLimit]]:
    """Every bucket a request counts in, with its rule."""
    key = caller_key(request, user)
    if user is None:
        return [
            (key, RateLimit(settings.anonymous_rate_limit_per_minute, WINDOW_SECONDS)),
            (f"preview:{key.removeprefix('ip:')}", RateLimit(settings.anonymous_previews_per_hour, HOUR_SECONDS)),
        ]
    per_minute = RateLimit(settings.rate_limit_per_minute, WINDOW_SECONDS)
    account = f"user:{user.id}"
    return [(key, per_minute)] if key == account else [(key, per_minute), (account, per_minute)]


@dataclass(frozen=True)
class RateLimits:
    """The per-caller limits of one app, provided to every route as ``rate_limits``."""

    settings: Settings
    limiter: RateLimiter
    clock: Clock

    async def count(self, request: Request[Any, Any, Any], user: User | None) -> RateLimitState:
        """Count this request in each of its caller's buckets; raise ``RateLimited`` when any is used up."""
        limits = caller_limits(request, user, self.settings)
        state = binding([await self.limiter.hit(bucket, rule) for bucket, rule in limits])
        request.scope.setdefault("state", {})[_STATE_KEY] = state
        if not state.allowed:
            raise RateLimited(state.retry_after(self.clock.now()))
        return state


Caller = Callable[[Request[Any, Any, Any], Authenticate], Awaitable[User | None]]


class RateLimitedUser(Provide):
    """A ``user`` provider that counts the caller: what the test of every route looks for."""


def rate_limited(caller: Caller) -> RateLimitedUser:
    """The ``user`` provider of a limited layer: ``caller`` (``current_user``, ``optional_user`` or
    ``api_key_user``), counted by ``rate_limits`` once it is known; a caller refused as unauthenticated
    is never counted."""

    async def counted_user(
        request: Request[Any, Any, Any],
        authenticate: Injected[Authenticate],
        rate_limits: Injected[RateLimits],
    ) -> User | None:
        user = await caller(request, authenticate)
        await rate_limits.count(request, user)
        return user

    counted_user.__qualname__ = counted_user.__name__ = f"rate_limited_{caller.__name__}"
    return RateLimitedUser(counted_user)


async def add_rate_limit_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    state: RateLimitState | None = scope.get("state", {}).get(_STATE_KEY)
    if state is None:
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-RateLimit-Limit"] = str(state.limit)
    headers["X-RateLimit-Remaining"] = str(state.remaining)
    headers["X-RateLimit-Reset"] = str(int(state.reset_at.timestamp()))
