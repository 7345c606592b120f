"""The JSON shapes of the native API (msgspec structs, so they validate and document themselves)."""

from __future__ import annotations

import uuid
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from domain import contact
from domain.api_keys import MAX_NAME_LENGTH, ApiKey
from domain.credits import LedgerEntry
from domain.paging import MAX_OFFSET, MAX_PAGE
from domain.plans import Plan
from domain.users import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, User

SMALL_BODY_BYTES = 64_000
"""The request body limit of the routes that take only a few short fields (sign-up, login, contact)."""
MAX_URL_LENGTH = 4096
MAX_OPTION_LENGTH = 64

# Every free-text field has a bound, checked while the body is parsed: longer is 422 field_too_long
# (errors.py), before anything is stored, hashed or looked up. Each fits the column it ends up in.
Email = Annotated[str, msgspec.Meta(max_length=MAX_EMAIL_LENGTH)]
Password = Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD_LENGTH)]
Url = Annotated[str, msgspec.Meta(max_length=MAX_URL_LENGTH)]
Option = Annotated[str, msgspec.Meta(max_length=MAX_OPTION_LENGTH)]
ContactName = Annotated[str, msgspec.Meta(max_length=contact.MAX_NAME_LENGTH)]
ContactText = Annotated[str, msgspec.Meta(max_length=contact.MAX_MESSAGE_LENGTH)]


class Credentials(msgspec.Struct):
    email: Email
    password: Password


class Account(msgspec.Struct):
    id: uuid.UUID
    email: str
    credits: int
    created_at: datetime

    @classmethod
    def of(cls, user: User, credits: int) -> Account:
        return cls(user.id, user.email, credits, user.created_at)


class NewApiKey(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LENGTH)]


class ApiKeyView(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyView:
        return cls(key.id, key.name, key.prefix, key.created_at, key.last_used_at, key.revoked_at)


class CreatedApiKey(ApiKeyView):
    key: str = ""
    """The secret: shown in this answer only."""


class ApiKeyList(msgspec.Struct):
    data: list[ApiKeyView]


class LedgerEntryView(msgspec.Struct):
    id: uuid.UUID
    delta: int
    kind: str
    reference: str
    job_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryView:
        return cls(entry.id, entry.delta, entry.kind.value, entry.reference, entry.job_id, entry.created_at)


class CreditsView(msgspec.Struct):
    balance: int
    entries: list[LedgerEntryView]
    total: int
    limit: int
    offset: int


class RemoveBgParams(msgspec.Struct):
    """The form fields of a cut-out request (remove.bg's names). The files ``image_file`` and
    ``bg_image_file`` are multipart parts, so they are not listed here. ``size`` and ``format``
    default per route."""

    image_file_b64: str | None = None  # bounded by the request body's size
    image_url: Url | None = None
    size: Option | None = None
    format: Option | None = None
    type: Option | None = None
    type_level: Option | int | None = None
    roi: Option | None = None
    crop: bool = False
    crop_margin: Option | int | None = None
    scale: Option | int | float | None = None
    position: Option | int | float | None = None
    channels: Option | None = None
    semitransparency: bool = True
    bg_color: Option | None = None
    bg_image_url: Url | None = None
    add_shadow: bool = False
    shadow_type: Option | None = None
    shadow_opacity: Option | int | None = None


class RemoveBgResultData(msgspec.Struct):
    result_b64: str
    credits_charged: int
    width: int
    height: int
    foreground_top: int | None = None
    foreground_left: int | None = None
    foreground_width: int | None = None
    foreground_height: int | None = None


class RemoveBgResult(msgspec.Struct):
    data: RemoveBgResultData


class Check(msgspec.Struct):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(msgspec.Struct):
    error: ErrorDetail
    requestId: str  # noqa: N815 - the fixed contract's spelling


class SessionState(msgspec.Struct):
    signed_in: bool
    account: Account | None


class PlanView(msgspec.Struct):
    id: str
    name: str
    kind: str
    credits: int
    price_cents: int
    currency: str
    interval: str | None
    summary: str
    purchasable: bool

    @classmethod
    def of(cls, plan: Plan) -> PlanView:
        return cls(
            plan.id,
            plan.name,
            plan.kind.value,
            plan.credits,
            plan.price_cents,
            plan.currency,
            plan.interval,
            plan.summary,
            plan.purchasable,
        )


class PlanList(msgspec.Struct):
    data: list[PlanView]


class ContactForm(msgspec.Struct):
    name: ContactName
    email: Email
    message: ContactText
    website: Url = ""
    """The honeypot: hidden from people, so only bots fill it in."""


class ContactReceived(msgspec.Struct):
    status: Literal["received"] = "received"


PageLimit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]
PageOffset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)]


def error_spec(description: str) -> ResponseSpec:
    """An error answer in the OpenAPI document: the native error body, with what it means here."""
    return ResponseSpec(ErrorBody, description=description)


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries saying these statuses answer with ``ErrorBody``; without them Litestar documents
    its own error shape for 400, which our exception handlers never send."""
    return {
        status: ResponseSpec(ErrorBody, description=f"{HTTPStatus(status).phrase} (see error.code)")
        for status in statuses
    }
