"""``POST /api/v1/removebg``: the synchronous cut-out."""

from __future__ import annotations

import base64
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from domain.users import User
from entrypoints.bootstrap import Services
from entrypoints.http.auth import SIGNED_IN
from entrypoints.http.removebg_form import CutoutOperation, read_cutout_request
from entrypoints.http.schemas import ErrorBody, RemoveBgResult, RemoveBgResultData


def _error(description: str) -> ResponseSpec:
    return ResponseSpec(ErrorBody, description=description)


@post(
    "/api/v1/removebg",
    security=SIGNED_IN,
    tags=["cut-outs"],
    summary="Remove the background of one image",
    description=(
        "Send exactly one of `image_file`, `image_file_b64` or `image_url`. Answers with the image "
        "(or, with `Accept: application/json`, `{data: {result_b64}}`) and the headers "
        "`X-Credits-Charged`, `X-Width`, `X-Height`, `X-Request-Id`. A result of at most 0.25 MP is free; "
        "a larger one costs 1 credit, refunded if anything fails."
    ),
    status_code=200,
    operation_class=CutoutOperation,
    responses={
        200: ResponseSpec(RemoveBgResult, description="The cut-out: an image, or JSON with Accept: application/json"),
        400: _error("Bad input: invalid_image, image_too_large, missing_source, url_not_allowed, ..."),
        401: _error("Not signed in and no valid API key"),
        402: _error("insufficient_credits"),
        403: _error("csrf_failed: a session-cookie request without X-CSRFToken"),
        413: _error("file_too_large"),
        415: _error("unsupported_format, unsupported_media_type"),
        503: _error("inference_failed (refunded; try again)"),
    },
)
async def remove_background(request: Request[Any, Any, Any], user: NamedDependency[User]) -> Response[Any]:
    services: Services = request.app.state.services
    cutout = await read_cutout_request(request)
    result = await services.remove_background(user, cutout.source, cutout.options)
    image = result.image
    headers = {
        "X-Credits-Charged": str(result.credits_charged),
        "X-Width": str(image.width),
        "X-Height": str(image.height),
    }
    if "application/json" in request.headers.get("accept", ""):
        data = RemoveBgResultData(
            base64.b64encode(image.data).decode(), result.credits_charged, image.width, image.height
        )
        return Response(RemoveBgResult(data), headers=headers)
    return Response(image.data, media_type=image.media_type, headers=headers)
