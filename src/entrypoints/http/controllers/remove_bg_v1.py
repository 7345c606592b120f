"""remove.bg's API v1.0 on this server: ``POST /v1.0/removebg`` and ``GET /v1.0/account``.

The cut-out takes the same path as the native ``POST /api/v1/removebg`` (same form reader, use case and
headers); only the defaults (remove.bg's: ``size=preview``, ``format=auto``), the JSON answer and the
error shape are remove.bg's. Callers authenticate with ``X-Api-Key`` (a missing or wrong key is 403).
"""

from __future__ import annotations

import base64
from typing import Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec

from domain.use_cases.credits import GetBalance
from domain.use_cases.remove_background import RemoveBackground
from domain.users import User
from entrypoints.http import remove_bg_errors
from entrypoints.http.auth import API_KEY_ONLY, api_key_user
from entrypoints.http.cutout_answers import cutout_headers, wants_json
from entrypoints.http.injected import Injected
from entrypoints.http.rate_limit import rate_limited
from entrypoints.http.remove_bg_shapes import AccountAnswer, CutoutAnswer, ErrorList
from entrypoints.http.removebg_form import REMOVE_BG_DEFAULTS, CutoutOperation, read_cutout_request
from entrypoints.http.route_docs import rules_of
from entrypoints.settings import Settings


def _errors(description: str) -> ResponseSpec:
    return ResponseSpec(ErrorList, description=description)


class RemoveBgController(Controller):
    """remove.bg's cut-out: every request counts against its key's (and account's) rate limits."""

    path = "/removebg"
    dependencies = {"user": rate_limited(api_key_user)}

    @post(
        "/",
        summary="Remove the background (remove.bg API v1.0)",
        description=rules_of(
            RemoveBackground,
            "remove.bg's parameters and answers: the image (or `{data: {result_b64, foreground_*}}` with "
            "`Accept: application/json`), with `X-Credits-Charged`, `X-Width`, `X-Height`, `X-Type`, "
            "`X-Foreground-*` and `X-RateLimit-*`. Defaults: `size=preview`, `format=auto`.",
        ),
        status_code=200,
        operation_class=CutoutOperation,
        responses={
            400: _errors("missing_source, file_too_large, resolution_too_high, unknown_foreground, invalid_*, ..."),
            402: _errors("insufficient_credits"),
            403: _errors("auth_failed"),
            429: _errors("rate_limit_exceeded (see Retry-After)"),
        },
    )
    async def remove_background(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[User],
        remove_background: Injected[RemoveBackground],
    ) -> Response[Any]:
        cutout = await read_cutout_request(request, REMOVE_BG_DEFAULTS)
        result = await remove_background(user, cutout.source, cutout.options)
        headers = cutout_headers(result)
        if wants_json(request):
            return Response(CutoutAnswer.of(result, base64.b64encode(result.image.data).decode()), headers=headers)
        return Response(result.image.data, media_type=result.image.media_type, headers=headers)


class AccountController(Controller):
    path = "/account"

    @get(
        "/",
        summary="Credit balance and free calls (remove.bg API v1.0)",
        description=(
            "`data.attributes.credits.total` is the balance (all of it `payg`); `api.free_calls` is how many "
            "cut-outs a key may make per minute (previews are always free)."
        ),
        responses={403: _errors("auth_failed")},
    )
    async def account(
        self, user: NamedDependency[User], get_balance: Injected[GetBalance], settings: Injected[Settings]
    ) -> AccountAnswer:
        return AccountAnswer.of(await get_balance(user), settings.rate_limit_per_minute)


router = Router(
    "/v1.0",
    route_handlers=[RemoveBgController, AccountController],
    dependencies={"user": Provide(api_key_user)},
    exception_handlers=remove_bg_errors.EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    tags=["remove.bg API v1.0"],
    security=API_KEY_ONLY,
)
