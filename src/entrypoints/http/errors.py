"""The native error body and the mapping from errors to HTTP status codes.

``{"error": {"code", "message", "details"}, "requestId"}``. A client's mistake is always a 4xx
with a stable code; only a fault of ours is a 5xx, and it never leaks internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from domain import errors
from entrypoints.http.request_id import request_id_of

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidRequest: 400,
    errors.InvalidEmail: 422,
    errors.WeakPassword: 422,
    errors.InvalidField: 422,
    errors.InvalidImage: 400,
    errors.UnsupportedFormat: 415,
    errors.ImageTooLarge: 400,
    errors.FileTooLarge: 413,
    errors.UrlNotAllowed: 400,
    errors.UrlFetchFailed: 400,
    errors.Unauthorized: 401,
    errors.TooManyAttempts: 429,
    errors.RateLimited: 429,
    errors.EmailTaken: 409,
    errors.TooManyApiKeys: 409,
    errors.NotFound: 404,
    errors.InsufficientCredits: 402,
    errors.AlreadyPosted: 409,
    errors.IllegalTransition: 409,
    errors.InferenceFailed: 503,
    errors.ServiceUnavailable: 503,
    errors.IdempotencyKeyReused: 422,
    errors.IdempotencyKeyTaken: 409,
    errors.ResultNotReady: 409,
    errors.ResultExpired: 410,
}

# Litestar's own exceptions, by status: the code a client can rely on.
CODE_BY_STATUS = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "file_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


def status_of(error: errors.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def error_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = {
        "error": {"code": code, "message": message, "details": details or {}},
        "requestId": request_id_of(request.scope),
    }
    return Response(body, status_code=status, headers=headers)


def domain_error_handler(request: Request[Any, Any, Any], error: errors.DomainError) -> Response[dict[str, Any]]:
    headers = None
    if isinstance(error, errors.TooManyAttempts | errors.RateLimited):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return error_response(request, status_of(error), error.code, error.message, error.details, headers)


_TOO_LONG = re.compile(r"Expected `str` of length <= (\d+)")


def too_long(problems: Any) -> errors.FieldTooLong | None:
    """The first field of a failed validation that is longer than its schema allows, if any."""
    for problem in problems if isinstance(problems, list) else []:
        if isinstance(problem, dict) and (match := _TOO_LONG.search(str(problem.get("message", "")))):
            field = str(problem.get("key", "")) or None
            limit = int(match.group(1))
            message = f"{field or 'A field'} is at most {limit} characters."
            return errors.FieldTooLong(message, field=field, max_length=limit)
    return None


def http_error_handler(request: Request[Any, Any, Any], error: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(error, ValidationException) and (long_field := too_long(error.extra)):
        return domain_error_handler(request, long_field)
    status = error.status_code
    code = CODE_BY_STATUS.get(status, "error" if status < 500 else "internal_error")
    details: dict[str, Any] = {}
    message = error.detail
    if isinstance(error, ValidationException) and error.extra:
        details["problems"] = error.extra
    if status == 403 and "CSRF" in message:
        code, message = "csrf_failed", "Send the csrftoken cookie's value in the X-CSRFToken header."
    if status == 413:
        message = "The request body is larger than allowed."
    return error_response(request, status, code, message, details, dict(error.headers or {}))


def unexpected_error_handler(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(
        request, HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side."
    )


EXCEPTION_HANDLERS = {
    errors.DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
