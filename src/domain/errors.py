"""One hierarchy of business errors, each with a stable machine-readable ``code``.

The HTTP layer maps codes to status codes; nothing here knows about HTTP.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the business rules raise."""

    code = "error"
    default_message = "The request could not be completed."
    transient = False
    """True when the same work may succeed if tried again later (a queued job is then retried)."""

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class InvalidRequest(DomainError):
    code = "invalid_request"
    default_message = "The request is not valid."


class InvalidOption(InvalidRequest):
    code = "invalid_option"
    default_message = "An option has a value that is not allowed."


class MissingSource(InvalidRequest):
    code = "missing_source"
    default_message = "Send exactly one of image_file, image_file_b64 or image_url."


class InvalidEmail(InvalidRequest):
    code = "invalid_email"
    default_message = "That is not a valid email address."


class WeakPassword(InvalidRequest):
    code = "weak_password"
    default_message = "The password must be 8 to 1024 characters long."


class InvalidField(InvalidRequest):
    """A form field (named in ``details.field``) has a value that is not accepted."""

    code = "invalid_field"
    default_message = "A field has a value that is not accepted."


class FieldTooLong(InvalidField):
    """A text field (``details.field``) is longer than ``details.max_length`` characters."""

    code = "field_too_long"
    default_message = "A field is longer than allowed."


class InvalidImage(DomainError):
    code = "invalid_image"
    default_message = "The file is not a readable JPEG, PNG or WebP image."


class UnsupportedFormat(DomainError):
    code = "unsupported_format"
    default_message = "Only JPEG, PNG and WebP images are supported."


class ImageTooLarge(DomainError):
    code = "image_too_large"
    default_message = "The image has more pixels than allowed."


class FileTooLarge(DomainError):
    code = "file_too_large"
    default_message = "The file is larger than allowed."


class UrlNotAllowed(DomainError):
    code = "url_not_allowed"
    default_message = "That URL may not be fetched."


class UrlFetchFailed(DomainError):
    code = "url_fetch_failed"
    default_message = "The image could not be downloaded from that URL."


class Unauthorized(DomainError):
    code = "unauthorized"
    default_message = "Sign in or send a valid API key."


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = "Wrong email or password."


class InvalidSignature(Unauthorized):
    code = "invalid_signature"
    default_message = "The webhook signature is missing, wrong or too old."


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    default_message = "Too many failed attempts; wait a moment and try again."

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(message, retry_after=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class RateLimited(DomainError):
    code = "rate_limited"
    default_message = "Too many requests; wait a moment and try again."

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(message, retry_after=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class EmailTaken(DomainError):
    code = "email_taken"
    default_message = "An account with that email already exists."


class TooManyApiKeys(DomainError):
    code = "too_many_api_keys"
    default_message = "This account has as many API keys as allowed; revoke one first."


class NotFound(DomainError):
    code = "not_found"
    default_message = "Not found."


class BlobMissing(NotFound):
    code = "blob_missing"
    default_message = "The stored file is gone."


class InsufficientCredits(DomainError):
    code = "insufficient_credits"
    default_message = "Not enough credits for this request."


class AlreadyPosted(DomainError):
    """A ledger entry with the same kind and reference exists: the event was booked before."""

    code = "already_posted"
    default_message = "This credit event was already booked."


class IllegalTransition(DomainError):
    code = "illegal_transition"
    default_message = "The job cannot move to that state."


class InferenceFailed(DomainError):
    code = "inference_failed"
    default_message = "The background could not be removed; no credit was charged."
    transient = True


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    default_message = "The service is busy; try again shortly."
    transient = True


class StorageUnavailable(ServiceUnavailable):
    """The database did not answer: a dropped connection, a lost server, a timeout. Nothing was stored,
    or the outcome of the last commit is unknown; trying again is safe, since every booking is unique."""

    code = "storage_unavailable"
    default_message = "The database is unavailable; try again shortly."


class PriceChanged(DomainError):
    """A queued job would now cost other than the credits reserved for it when it was submitted."""

    code = "price_changed"
    default_message = "The job no longer costs what was reserved for it; it was not run and was refunded."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request."


class IdempotencyKeyTaken(DomainError):
    """Raised by the job store when another job holds the (user, Idempotency-Key) pair."""

    code = "idempotency_key_taken"
    default_message = "Another request with this Idempotency-Key is being processed."


class ResultNotReady(DomainError):
    code = "result_not_ready"
    default_message = "The job has no result (yet)."


class ResultExpired(DomainError):
    code = "result_expired"
    default_message = "The result was deleted when the retention window ended."


class MultipleSources(MissingSource):
    code = "multiple_sources"
    default_message = "Send only one of image_file, image_file_b64 or image_url."


class MultipleBackgrounds(InvalidOption):
    code = "multiple_bg_sources"
    default_message = "Send only one of bg_color, bg_image_url or bg_image_file."


class RoiRegionEmpty(InvalidOption):
    code = "roi_region_empty"
    default_message = "The roi defines an empty region."


class RoiExceedsBounds(InvalidOption):
    code = "roi_exceeds_bounds"
    default_message = "The roi defines a region that exceeds the image bounds."


class UnknownForeground(DomainError):
    code = "unknown_foreground"
    default_message = "No subject was found in the image; no credit was charged."
