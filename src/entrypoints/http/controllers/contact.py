"""``POST /api/v1/contact``: the contact form."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody

from domain.use_cases.contact import SendContactMessage
from entrypoints.http.auth import client_ip
from entrypoints.http.injected import Injected
from entrypoints.http.route_docs import rules_of
from entrypoints.http.schemas import SMALL_BODY_BYTES, ContactForm, ContactReceived, error_spec


class ContactController(Controller):
    path = "/api/v1/contact"
    tags = ["contact"]

    @post(
        "/",
        request_max_body_size=SMALL_BODY_BYTES,
        summary="Send us a message",
        description=rules_of(
            SendContactMessage,
            "`name`, `email` and `message` (10 to 5000 characters). At most 5 messages per hour per address.",
        ),
        status_code=202,
        responses={
            400: error_spec("invalid_request: the body is not a JSON object of strings"),
            413: error_spec("file_too_large: the body is over 64 KB"),
            422: error_spec("invalid_field, field_too_long or invalid_email, with `details.field`"),
            429: error_spec("rate_limited, with Retry-After"),
        },
    )
    async def contact(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ContactForm],
        send_contact_message: Injected[SendContactMessage],
    ) -> ContactReceived:
        await send_contact_message(data.name, data.email, data.message, data.website, client_ip(request))
        return ContactReceived()
