"""Reading a cut-out request the way remove.bg clients send it: multipart, JSON or urlencoded."""

from __future__ import annotations

import base64
import binascii
import enum
import re
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, SerializationException
from litestar.openapi.spec import OpenAPIHeader, OpenAPIMediaType, Operation, Reference, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from domain.cutouts import Channels, CutoutOptions, ForegroundType, ImageSource, OutputFormat, Shadow, TypeLevel
from domain.errors import (
    InvalidImage,
    InvalidOption,
    InvalidRequest,
    MissingSource,
    MultipleBackgrounds,
    MultipleSources,
)
from domain.geometry import CropMargin, Placement, Roi
from domain.pricing import SizeChoice
from entrypoints.http.errors import too_long
from entrypoints.http.schemas import RemoveBgParams

E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True, slots=True)
class CutoutRequest:
    source: ImageSource
    options: CutoutOptions
    fields: dict[str, Any]
    """Every non-file field as sent, for what a route takes beyond the cut-out (``callback_url``)."""


@dataclass(frozen=True, slots=True)
class CutoutDefaults:
    """What a route assumes when ``size`` or ``format`` is not sent."""

    size: SizeChoice
    format: OutputFormat


NATIVE_DEFAULTS = CutoutDefaults(SizeChoice.AUTO, OutputFormat.PNG)
REMOVE_BG_DEFAULTS = CutoutDefaults(SizeChoice.PREVIEW, OutputFormat.AUTO)  # remove.bg's documented defaults


async def read_cutout_request(request: Request[Any, Any, Any], defaults: CutoutDefaults) -> CutoutRequest:
    fields, files = await _read_fields(request)
    try:
        params = msgspec.convert(fields, RemoveBgParams, strict=False)
    except msgspec.ValidationError as error:
        field = _FIELD.search(str(error))
        name = field.group(1) if field else None
        if long_field := too_long([{"message": str(error), "key": name}]):
            raise long_field from None
        raise InvalidOption(str(error), field=name) from None
    return CutoutRequest(
        _source(params, files.get("image_file")), _options(params, files.get("bg_image_file"), defaults), fields
    )


_FIELD = re.compile(r"\$\.(\w+)")


def _source(params: RemoveBgParams, upload: bytes | None) -> ImageSource:
    sources = [s for s in (upload, params.image_file_b64, params.image_url) if s not in (None, "")]
    if not sources:
        raise MissingSource()
    if len(sources) > 1:
        raise MultipleSources()
    if upload is not None:
        return ImageSource(data=upload)
    if params.image_file_b64:
        return ImageSource(data=_decode_b64(params.image_file_b64))
    return ImageSource(url=params.image_url)


def _options(params: RemoveBgParams, bg_upload: bytes | None, defaults: CutoutDefaults) -> CutoutOptions:
    if bg_upload is not None and params.bg_image_url:
        raise MultipleBackgrounds(field="bg_image_url")
    background = None
    if bg_upload is not None:
        background = ImageSource(data=bg_upload)
    elif params.bg_image_url:
        background = ImageSource(url=params.bg_image_url)
    return CutoutOptions(
        size=SizeChoice.parse(params.size) if params.size else defaults.size,
        format=OutputFormat.parse(params.format) if params.format else defaults.format,
        bg_color=params.bg_color or None,
        bg_image=background,
        crop=params.crop,
        crop_margin=CropMargin.parse(None if params.crop_margin is None else str(params.crop_margin)),
        roi=Roi.parse(params.roi),
        placement=Placement.parse(params.scale, params.position),
        channels=_choice(Channels, params.channels, "channels", Channels.RGBA),
        semitransparency=params.semitransparency,
        shadow=Shadow.parse(params.add_shadow, params.shadow_type, params.shadow_opacity),
        foreground_type=_choice(ForegroundType, params.type, "type", ForegroundType.AUTO),
        type_level=_choice(TypeLevel, params.type_level, "type_level", TypeLevel.COARSE),
    )


def _choice(kind: type[E], value: object, field: str, default: E) -> E:
    text = "" if value is None else str(value).strip().lower()
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidOption(f"{field} {value!r} is not one of {allowed}.", field=field) from None


async def _read_fields(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    content_type, _ = request.content_type
    if content_type == RequestEncodingType.JSON:
        try:
            fields = await request.json() if await request.body() else {}
        except SerializationException:
            raise InvalidRequest("The body is not valid JSON.") from None
        if not isinstance(fields, dict):
            raise InvalidRequest("The JSON body must be an object.")
        return fields, {}
    if content_type in (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED):
        form = await request.form()
        fields, files = {}, {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name in _FILE_FIELDS:
                    files[name] = await value.read()
            else:
                fields[name] = value
        return fields, files
    raise HTTPException(
        status_code=415,
        detail="Send multipart/form-data, application/json or application/x-www-form-urlencoded.",
    )


_FILE_FIELDS = ("image_file", "bg_image_file")


def _decode_b64(text: str) -> bytes:
    if text.startswith("data:"):  # a data URI as browsers make them
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("image_file_b64 is not valid base64.") from None


def _form_schema(with_file: bool) -> Schema:
    def text(description: str, enum: list[str] | None = None) -> Schema:
        return Schema(type=OpenAPIType.STRING, description=description, enum=enum)

    properties: dict[str, Schema | Reference] = {
        "image_file_b64": text("The image, base64-encoded."),
        "image_url": Schema(
            type=OpenAPIType.STRING, format=OpenAPIFormat.URI, description="An http(s) URL of the image."
        ),
        "size": text(
            "Largest result: preview/small/regular 0.25 MP (free), medium 1.5 MP, hd 4 MP, full/4k 25 MP, "
            "50MP; auto is full when you have a credit, else preview. Default: auto (native), preview (/v1.0).",
            ["auto", "preview", "small", "regular", "medium", "hd", "full", "4k", "50MP"],
        ),
        "format": text(
            "auto: PNG if anything is transparent, else JPG; zip: color.jpg + alpha.png. "
            "Default: png (native), auto (/v1.0).",
            ["auto", "png", "jpg", "webp", "zip"],
        ),
        "type": text("Accepted and echoed in X-Type (no classification).", [t.value for t in ForegroundType]),
        "type_level": text("How X-Type names the type; none leaves it out.", ["none", "1", "2", "latest"]),
        "roi": text("Region of interest x1 y1 x2 y2 in px or %: only the subject inside it is kept."),
        "crop": Schema(type=OpenAPIType.BOOLEAN, default=False),
        "crop_margin": text("30px, 10% or CSS-like 2/4 values."),
        "scale": text("original, or 10% to 100%: the subject resized to that share of the image."),
        "position": text("original, center, or one or two percentages (horizontal vertical)."),
        "channels": text("rgba: the cut-out; alpha: its mask alone.", ["rgba", "alpha"]),
        "semitransparency": Schema(type=OpenAPIType.BOOLEAN, default=True, description="false: hard edges."),
        "bg_color": text("Hex (81d4fa, fff, 81d4fa80) or a colour name."),
        "bg_image_url": Schema(
            type=OpenAPIType.STRING, format=OpenAPIFormat.URI, description="A background image to lay under."
        ),
        "add_shadow": Schema(type=OpenAPIType.BOOLEAN, default=False, description="A soft drop shadow."),
        "shadow_type": text("Any of them turns the shadow on; all are drawn alike.", ["car", "3D", "drop"]),
        "shadow_opacity": Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=100, default=50),
    }
    if with_file:
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        properties = {"image_file": binary, "bg_image_file": binary, **properties}
    return Schema(type=OpenAPIType.OBJECT, properties=properties)


@dataclass
class CutoutOperation(Operation):
    """Documents the three body encodings the handler reads itself, and the image answers next to the JSON one."""

    def __post_init__(self) -> None:
        success = self.responses["200"] if self.responses else None
        if success is not None and not isinstance(success, Reference) and success.content is not None:
            image = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))
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
