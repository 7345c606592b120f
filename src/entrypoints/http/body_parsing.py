"""The request class of every route: its body parsers answer what only a client's body can cause
with a 400 ``invalid_request`` instead of a 500.

Litestar's JSON decoding (msgspec) raises ``RecursionError`` past its nesting limit, and its multipart
parser decodes field values as UTF-8 (or the charset a part names) without catching
``UnicodeDecodeError`` (or ``LookupError``, for a charset Python does not know); none is a
``SerializationException``, so they used to reach the catch-all handler. Every JSON ``data`` argument
goes through ``Request.json``, and every form our handlers read through ``Request.form`` (no route
takes a multipart ``data`` argument), so catching them here covers every route at once.

A multipart form may have at most ``multipart_form_part_limit`` (1000) parts; Litestar sets no such
limit on urlencoded forms, and reading one back (``FormMultiDict.multi_items``) takes time quadratic in
the number of fields: 100 000 of them (400 KB) held the event loop for 23 s. The same limit applies here.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.enums import RequestEncodingType

from domain.errors import InvalidRequest


class BodyParsingRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise InvalidRequest("The JSON body is nested too deeply.") from None

    async def form(self) -> FormMultiDict:
        limit = self.app.multipart_form_part_limit
        if self.content_type[0] == RequestEncodingType.URL_ENCODED and (await self.body()).count(b"&") >= limit:
            raise InvalidRequest(f"A form may have at most {limit} fields.")
        try:
            return await super().form()
        except (UnicodeDecodeError, LookupError):
            raise InvalidRequest("A form field is not text in UTF-8 (or in the charset it names).") from None
