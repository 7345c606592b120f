"""A user's API keys."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from domain.use_cases.api_keys import CreateApiKey, ListApiKeys, RevokeApiKey
from domain.users import User
from entrypoints.http.auth import SIGNED_IN
from entrypoints.http.injected import Injected
from entrypoints.http.route_docs import rules_of
from entrypoints.http.schemas import SMALL_BODY_BYTES, ApiKeyList, ApiKeyView, CreatedApiKey, NewApiKey, error_responses


class ApiKeysController(Controller):
    path = "/api/v1/api-keys"
    tags = ["api keys"]
    security = SIGNED_IN

    @post(
        "/",
        request_max_body_size=SMALL_BODY_BYTES,
        summary="Create an API key (its secret is shown once)",
        description=rules_of(CreateApiKey),
        status_code=201,
        responses=error_responses(400, 401, 403, 409, 413, 422),
    )
    async def create_api_key(
        self, user: NamedDependency[User], data: JSONBody[NewApiKey], create_api_key: Injected[CreateApiKey]
    ) -> CreatedApiKey:
        key, secret = await create_api_key(user, data.name)
        view = ApiKeyView.of(key)
        return CreatedApiKey(
            view.id, view.name, view.prefix, view.created_at, view.last_used_at, view.revoked_at, secret
        )

    @get("/", summary="List your API keys", description=rules_of(ListApiKeys), responses=error_responses(401))
    async def list_api_keys(self, user: NamedDependency[User], list_api_keys: Injected[ListApiKeys]) -> ApiKeyList:
        return ApiKeyList([ApiKeyView.of(key) for key in await list_api_keys(user)])

    @delete(
        "/{key_id:uuid}",
        summary="Revoke an API key",
        description=rules_of(RevokeApiKey),
        status_code=204,
        responses=error_responses(400, 401, 403, 404),
    )
    async def revoke_api_key(
        self, user: NamedDependency[User], key_id: FromPath[uuid.UUID], revoke_api_key: Injected[RevokeApiKey]
    ) -> None:
        await revoke_api_key(user, key_id)
