"""``POST /api/v1/removebg``: the synchronous cut-out."""

from __future__ import annotations

import base64
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from domain.use_cases.previews import AnonymousPreview
from domain.use_cases.remove_background import RemoveBackground
from domain.users import User
from entrypoints.http.auth import SIGNED_IN, optional_user
from entrypoints.http.cutout_answers import cutout_headers, wants_json
from entrypoints.http.injected import Injected
from entrypoints.http.rate_limit import rate_limited
from entrypoints.http.removebg_form import NATIVE_DEFAULTS, CutoutOperation, read_cutout_request
from entrypoints.http.route_docs import rules_of
from entrypoints.http.schemas import RemoveBgResult, RemoveBgResultData, error_spec


class CutoutController(Controller):
    """The synchronous cut-out, for anyone: every request counts against its caller's rate limits."""

    path = "/api/v1/removebg"
    tags = ["cut-outs"]
    security = [*SIGNED_IN, {}]
    dependencies = {"user": rate_limited(optional_user)}

    @post(
        "/",
        summary="Remove the background of one image",
        description=rules_of(
            RemoveBackground,
            "Send exactly one of `image_file`, `image_file_b64` or `image_url`. Answers with the image "
            "(or, with `Accept: application/json`, `{data: {result_b64}}`) and the headers "
            "`X-Credits-Charged`, `X-Width`, `X-Height`, `X-Type`, `X-Foreground-Top/-Left/-Width/-Height`, "
            "`X-RateLimit-*`, `X-Request-Id`. Signed out, `size=preview` works "
            "without an account, a few times per hour per address (429 `rate_limited` after that).",
        ),
        status_code=200,
        operation_class=CutoutOperation,
        responses={
            200: ResponseSpec(
                RemoveBgResult, description="The cut-out: an image, or JSON with Accept: application/json"
            ),
            400: error_spec("Bad input: invalid_image, image_too_large, missing_source, url_not_allowed, ..."),
            401: error_spec("Not signed in and no valid API key (signed out, only size=preview is allowed)"),
            402: error_spec("insufficient_credits"),
            403: error_spec("csrf_failed: a session-cookie request without X-CSRFToken"),
            413: error_spec("file_too_large"),
            415: error_spec("unsupported_format, unsupported_media_type"),
            422: error_spec(
                "field_too_long: a text field is longer than allowed (`details.field`, `details.max_length`)"
            ),
            429: error_spec(
                "rate_limited (see Retry-After): too many requests, or a signed-out address's free previews"
            ),
            503: error_spec("inference_failed (refunded; try again)"),
        },
    )
    async def remove_background(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[User | None],
        remove_background: Injected[RemoveBackground],
        anonymous_preview: Injected[AnonymousPreview],
    ) -> Response[Any]:
        cutout = await read_cutout_request(request, NATIVE_DEFAULTS)
        if user is None:
            result = await anonymous_preview(cutout.source, cutout.options)
        else:
            result = await remove_background(user, cutout.source, cutout.options)
        image = result.image
        headers = cutout_headers(result)
        if wants_json(request):
            data = RemoveBgResultData(
                base64.b64encode(image.data).decode(), result.credits_charged, image.width, image.height
            )
            if (box := image.foreground) is not None:
                data.foreground_top, data.foreground_left = box.top, box.left
                data.foreground_width, data.foreground_height = box.width, box.height
            return Response(RemoveBgResult(data), headers=headers)
        return Response(image.data, media_type=image.media_type, headers=headers)
