"""A request id for every request: in ``X-Request-Id`` on every answer and in every error body.

Made on first use and kept in the ASGI scope, so errors raised anywhere (a middleware, an unknown
route) carry the same id as the header that ``add_request_id`` (a ``before_send`` hook) writes."""

from __future__ import annotations

import itertools
import secrets

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

_KEY = "cutout_request_id"
# 32 hex digits like a UUID: a random prefix per process and a counter. Unique across servers and
# restarts, and much cheaper than a fresh random UUID, which costs a getrandom() system call.
_PROCESS = secrets.token_hex(8)
_COUNTER = itertools.count()


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    if (request_id := state.get(_KEY)) is None:
        request_id = state[_KEY] = f"{_PROCESS}{next(_COUNTER):016x}"
    return request_id


async def add_request_id(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)["X-Request-Id"] = request_id_of(scope)
