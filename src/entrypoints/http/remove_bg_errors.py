"""Errors of the ``/v1.0`` routes as remove.bg answers them: ``{"errors": [{"title", "code", "detail"}]}``,
with remove.bg's codes and statuses: 400 for anything wrong with the request, 402 for credits, 403 for
authentication, 429 for rate limits (5xx stays ours: retryable, nothing charged)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from domain import errors
from entrypoints.http.auth import api_key_of
from entrypoints.http.errors import CODE_BY_STATUS, status_of
from entrypoints.http.remove_bg_shapes import ErrorList, Problem

log = logging.getLogger(__name__)

# Our codes where remove.bg names the same thing differently.
_CODES = {
    "invalid_image": "failed_to_read_image",
    "unsupported_format": "invalid_file_type",
    "image_too_large": "resolution_too_high",
    "unauthorized": "auth_failed",
    "rate_limited": "rate_limit_exceeded",
}
_TITLES = {
    "missing_source": "No image given",
    "multiple_sources": "Multiple image sources given",
    "multiple_bg_sources": "Multiple background sources given",
    "file_too_large": "File too large",
    "resolution_too_high": "Image resolution too high",
    "failed_to_read_image": "Failed to read image",
    "invalid_file_type": "Invalid file type",
    "invalid_image_url": "Invalid image_url",
    "invalid_bg_image_url": "Invalid bg_image_url",
    "failed_image_download": "Failed to download image from given image_url",
    "failed_bg_download": "Failed to download background image from given bg_image_url",
    "roi_exceeds_bounds": "ROI exceeds image bounds",
    "roi_region_empty": "ROI region is empty",
    "unknown_foreground": "Could not identify foreground in image",
    "insufficient_credits": "Insufficient credits",
    "rate_limit_exceeded": "Rate limit exceeded",
}


def remove_bg_status(status: int) -> int:
    if status in (402, 429) or status >= 500:
        return status
    return 403 if status in (401, 403) else 400


def remove_bg_code(error: errors.DomainError) -> str:
    field = error.details.get("field")
    background = field in ("bg_image_url", "bg_image")
    if isinstance(error, errors.UrlNotAllowed):
        return "invalid_bg_image_url" if background else "invalid_image_url"
    if isinstance(error, errors.UrlFetchFailed):
        return "failed_bg_download" if background else "failed_image_download"
    if error.code == errors.InvalidOption.code and field:
        return f"invalid_{field}"
    return _CODES.get(error.code, error.code)


def answer(status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(ErrorList([Problem(title, code, detail)]), status_code=status, headers=headers)


def _title(code: str, request: Request[Any, Any, Any]) -> str:
    if code == "auth_failed":
        return "Invalid API Key" if api_key_of(request.headers) else "Missing API Key"
    if code.startswith("invalid_") and code not in _TITLES:
        return f"Invalid value for parameter '{code.removeprefix('invalid_')}'"
    return _TITLES.get(code, code.replace("_", " ").capitalize())


def domain_error(request: Request[Any, Any, Any], error: errors.DomainError) -> Response[Any]:
    code = remove_bg_code(error)
    headers = None
    if isinstance(error, errors.RateLimited):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return answer(remove_bg_status(status_of(error)), code, _title(code, request), error.message, headers)


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    code = CODE_BY_STATUS.get(status, "error" if status < 500 else "internal_error")
    detail = "The request body is larger than allowed." if status == 413 else error.detail
    return answer(remove_bg_status(status), code, _title(code, request), detail, dict(error.headers or {}))


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return answer(500, "internal_error", "Internal server error", "Something went wrong on our side.")


EXCEPTION_HANDLERS = {
    errors.DomainError: domain_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
