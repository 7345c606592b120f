"""The JSON shapes of the native API (msgspec structs, so they validate and document themselves)."""

from __future__ import annotations

import uuid
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from domain.api_keys import MAX_NAME_LENGTH, ApiKey
from domain.credits import LedgerEntry
from domain.paging import MAX_OFFSET, MAX_PAGE
from domain.plans import Plan
from domain.users import User


class Credentials(msgspec.Struct):
    email: str
    password: str


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

    image_file_b64: str | None = None
    image_url: str | None = None
    size: str | None = None
    format: str | None = None
    type: str | None = None
    type_level: str | int | None = None
    roi: str | None = None
    crop: bool = False
    crop_margin: str | int | None = None
    scale: str | int | float | None = None
    position: str | int | float | None = None
    channels: str | None = None
    semitransparency: bool = True
    bg_color: str | None = None
    bg_image_url: str | None = None
    add_shadow: bool = False
    shadow_type: str | None = None
    shadow_opacity: str | int | None = None


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
    name: str
    email: str
    message: str
    website: str = ""
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
