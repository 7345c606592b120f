"""A user's API keys."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from domain.users import User
from entrypoints.bootstrap import Services
from entrypoints.http.auth import SIGNED_IN
from entrypoints.http.schemas import SMALL_BODY_BYTES, ApiKeyList, ApiKeyView, CreatedApiKey, NewApiKey, error_responses

KEYS = ["api keys"]


@post(
    "/api/v1/api-keys",
    request_max_body_size=SMALL_BODY_BYTES,
    security=SIGNED_IN,
    tags=KEYS,
    summary="Create an API key (its secret is shown once)",
    description="An account holds at most `CUTOUT_MAX_API_KEYS` (20) unrevoked keys: 409 `too_many_api_keys` beyond.",
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def create_api_key(
    request: Request[Any, Any, Any], user: NamedDependency[User], data: JSONBody[NewApiKey]
) -> CreatedApiKey:
    services: Services = request.app.state.services
    key, secret = await services.create_api_key(user, data.name)
    view = ApiKeyView.of(key)
    return CreatedApiKey(view.id, view.name, view.prefix, view.created_at, view.last_used_at, view.revoked_at, secret)


@get("/api/v1/api-keys", security=SIGNED_IN, tags=KEYS, summary="List your API keys", responses=error_responses(401))
async def list_api_keys(request: Request[Any, Any, Any], user: NamedDependency[User]) -> ApiKeyList:
    services: Services = request.app.state.services
    return ApiKeyList([ApiKeyView.of(key) for key in await services.list_api_keys(user)])


@delete(
    "/api/v1/api-keys/{key_id:uuid}",
    security=SIGNED_IN,
    tags=KEYS,
    summary="Revoke an API key",
    status_code=204,
    responses=error_responses(400, 401, 403, 404),
)
async def revoke_api_key(
    request: Request[Any, Any, Any], user: NamedDependency[User], key_id: FromPath[uuid.UUID]
) -> None:
    services: Services = request.app.state.services
    await services.revoke_api_key(user, key_id)
