"""Reading a cut-out request the way remove.bg clients send it: multipart, JSON or urlencoded."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIHeader, OpenAPIMediaType, Operation, Reference, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType

from domain.cutouts import CropMargin, CutoutOptions, ImageSource, OutputFormat
from domain.errors import InvalidImage, InvalidRequest, MissingSource
from domain.pricing import SizeChoice
from entrypoints.http.schemas import RemoveBgParams


@dataclass(frozen=True, slots=True)
class CutoutRequest:
    source: ImageSource
    options: CutoutOptions


async def read_cutout_request(request: Request[Any, Any, Any]) -> CutoutRequest:
    fields, upload = await _read_fields(request)
    try:
        params = msgspec.convert(fields, RemoveBgParams, strict=False)
    except msgspec.ValidationError as error:
        raise InvalidRequest(str(error)) from None
    sources = [s for s in (upload, params.image_file_b64, params.image_url) if s not in (None, "")]
    if len(sources) != 1:
        raise MissingSource()
    if upload is not None:
        source = ImageSource(data=upload)
    elif params.image_file_b64:
        source = ImageSource(data=_decode_b64(params.image_file_b64))
    else:
        source = ImageSource(url=params.image_url)
    options = CutoutOptions(
        size=SizeChoice(params.size),
        format=OutputFormat(params.format),
        bg_color=params.bg_color or None,
        crop=params.crop,
        crop_margin=CropMargin.parse(None if params.crop_margin is None else str(params.crop_margin)),
    )
    return CutoutRequest(source, options)


async def _read_fields(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], bytes | None]:
    content_type, _ = request.content_type
    if content_type == RequestEncodingType.JSON:
        body = await request.body()
        try:
            fields = msgspec.json.decode(body) if body else {}
        except msgspec.DecodeError:
            raise InvalidRequest("The body is not valid JSON.") from None
        if not isinstance(fields, dict):
            raise InvalidRequest("The JSON body must be an object.")
        return fields, None
    if content_type in (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED):
        form = await request.form()
        fields, upload = {}, None
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name == "image_file":
                    upload = await value.read()
            else:
                fields[name] = value
        return fields, upload
    raise HTTPException(
        status_code=415,
        detail="Send multipart/form-data, application/json or application/x-www-form-urlencoded.",
    )


def _decode_b64(text: str) -> bytes:
    if text.startswith("data:"):  # a data URI as browsers make them
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("image_file_b64 is not valid base64.") from None


def _form_schema(with_file: bool) -> Schema:
    properties: dict[str, Schema] = {
        "image_file_b64": Schema(type=OpenAPIType.STRING, description="The image, base64-encoded."),
        "image_url": Schema(type=OpenAPIType.STRING, format="uri", description="An http(s) URL of the image."),
        "size": Schema(type=OpenAPIType.STRING, enum=["auto", "preview", "full"], default="auto"),
        "format": Schema(type=OpenAPIType.STRING, enum=["png", "jpg", "webp"], default="png"),
        "bg_color": Schema(type=OpenAPIType.STRING, description="Hex (81d4fa, fff) or a colour name."),
        "crop": Schema(type=OpenAPIType.BOOLEAN, default=False),
        "crop_margin": Schema(type=OpenAPIType.STRING, description="30px, 10% or CSS-like 2/4 values."),
    }
    if with_file:
        properties = {"image_file": Schema(type=OpenAPIType.STRING, format="binary"), **properties}
    return Schema(type=OpenAPIType.OBJECT, properties=properties)


@dataclass
class CutoutOperation(Operation):
    """Documents the three body encodings the handler reads itself, and the image answers next to the JSON one."""

    def __post_init__(self) -> None:
        success = self.responses["200"] if self.responses else None
        if success is not None and not isinstance(success, Reference) and success.content is not None:
            image = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format="binary"))
            success.content.update({media_type: image for media_type in ("image/png", "image/jpeg", "image/webp")})
            integer = Schema(type=OpenAPIType.STRING, pattern="^[0-9]+$")
            success.headers = {
                name: OpenAPIHeader(schema=integer, required=True, description=description)
                for name, description in (
                    ("X-Credits-Charged", "Credits this cut-out cost: 0 or 1"),
                    ("X-Width", "Width of the result in pixels"),
                    ("X-Height", "Height of the result in pixels"),
                )
            }
        self.request_body = RequestBody(
            required=True,
            content={
                "multipart/form-data": OpenAPIMediaType(schema=_form_schema(with_file=True)),
                "application/json": OpenAPIMediaType(schema=_form_schema(with_file=False)),
                "application/x-www-form-urlencoded": OpenAPIMediaType(schema=_form_schema(with_file=False)),
            },
        )
