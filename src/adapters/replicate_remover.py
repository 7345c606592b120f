"""The ``BackgroundRemover`` port on Replicate's GPUs, through the official ``replicate`` client.

One cut-out is one prediction: the picture goes up as a data URI (small) or a time-limited blob-store
URL (large); the prediction is created with ``Prefer: wait``; if it comes back unfinished, it is
awaited through the webhook inbox (when Replicate can reach us) and by polling. Our deadline passing,
or the awaiting task being cancelled, cancels the prediction on Replicate. The output image is
downloaded at once (Replicate deletes it after an hour) and turned into our mask by the model's row
in ``replicate_models``; our own imaging pipeline then composes the result as it does for the local model.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from typing import Any

import anyio
import httpx
from PIL import Image
from replicate.client import Client, RetryTransport
from replicate.exceptions import ReplicateError

from adapters.cpu import CpuPool
from adapters.pillow_images import pillow_image
from adapters.replicate_models import ReplicateModel, mask_from_output
from domain.errors import InferenceFailed
from domain.ports import BlobStore, Picture, PredictionInbox

log = logging.getLogger(__name__)

DATA_URI_MAX_BYTES = 256 * 1024  # larger inputs go up as a blob-store URL
INPUT_JPEG_QUALITY = 90
INPUT_URL_LIFETIME = timedelta(minutes=15)
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
FIXED_RESOLUTION_PIXELS = 4_000_000
OUTPUT_HEADER_BYTES = 64 * 1024  # room for a PNG's chunks and metadata around its pixels
TERMINAL = frozenset({"succeeded", "failed", "canceled"})
RETRIED_STATUSES = (429, 500, 502, 503, 504)


def replicate_client(api_token: str, base_url: str | None = None, attempts: int = 4) -> Client:
    """The official client. It retries GETs on 429/503/504 by itself; this adds the same backoff
    (``RetryTransport``, honouring ``Retry-After``) for POSTs, creating and cancelling predictions,
    on 429 and 5xx."""
    retry_posts = RetryTransport(
        httpx.AsyncHTTPTransport(),
        max_attempts=attempts,
        retryable_methods=["POST"],
        retry_status_codes=RETRIED_STATUSES,
        max_backoff_wait=10,
    )
    return Client(api_token=api_token, base_url=base_url or None, transport=retry_posts)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long to wait for what. Tests shorten them; the defaults fit the 60 s deadline of a cut-out."""

    deadline: float = 55.0  # the whole prediction, upload to download; then it is cancelled
    prefer_wait: int = 10  # seconds Replicate holds the create request open (1-60)
    poll: float = 0.5  # polling interval without a webhook
    webhook_poll: float = 5.0  # polling interval while a webhook is expected (the fallback)
    inbox_poll: float = 0.5  # how often the shared inbox is read while a webhook is expected
    cancel: float = 5.0  # the most a cancellation may take
    readiness_ttl: float = 30.0  # how long a readiness answer is reused


@dataclass(frozen=True, slots=True)
class _Prediction:
    id: str
    status: str
    output: Any = None
    error: Any = None

    @classmethod
    def of(cls, payload: Any) -> _Prediction:
        """From the client's ``Prediction`` or a webhook payload (a dict)."""
        if isinstance(payload, dict):
            return cls(str(payload["id"]), str(payload["status"]), payload.get("output"), payload.get("error"))
        return cls(payload.id, payload.status, payload.output, payload.error)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


class ReplicateRemover:
    """``BackgroundRemover`` running ``model`` on Replicate.

    ``blobs`` hosts inputs larger than 256 KB; without one they go up as data URIs too. ``webhook_url``
    (with an ``inbox`` the webhook endpoint writes to) asks Replicate to call us when a prediction
    finishes; polling ``urls.get`` remains the fallback.
    """

    def __init__(
        self,
        client: Client,
        model: ReplicateModel,
        cpu: CpuPool,
        blobs: BlobStore | None = None,
        inbox: PredictionInbox | None = None,
        webhook_url: str | None = None,
        timing: Timing | None = None,
    ) -> None:
        if webhook_url and inbox is None:
            raise ValueError("a webhook needs an inbox to deliver into")
        self.client = client
        self.model = model
        self.cpu = cpu
        self.blobs = blobs
        self.inbox = inbox
        self.webhook_url = webhook_url
        self.timing = timing or Timing()
        self._downloads = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=True)
        self._readiness: tuple[float, str | None] | None = None
        self._background: set[asyncio.Future[Any]] = set()  # abandoned creations and their cancellations

    # -- the port ---------------------------------------------------------------------------------

    async def mask(self, picture: Picture) -> Image.Image:
        jpeg = await self.cpu.run(_encode_input, pillow_image(picture))
        prediction: _Prediction | None = None
        try:
            with anyio.fail_after(self.timing.deadline):
                async with self._uploaded(jpeg) as image:
                    prediction = await self._create(image)
                    prediction = await self._until_finished(prediction)
                output = await self._download(self._output_url(prediction), _output_limit(picture))
        except TimeoutError:
            raise InferenceFailed(
                f"Replicate did not finish within {self.timing.deadline:g} s.",
                prediction_id=prediction.id if prediction else None,
            ) from None
        except (ReplicateError, httpx.HTTPError) as error:
            raise InferenceFailed(f"Replicate could not be used: {_describe(error)}") from error
        finally:
            if prediction is not None:
                await self._forget(prediction)
        try:
            return await self.cpu.run(mask_from_output, self.model, output, (picture.width, picture.height))
        except Exception as error:
            raise InferenceFailed(f"The output of {self.model.name} is not a usable image: {error}") from error

    async def check(self) -> None:
        """Whether Replicate answers and accepts the token; the answer is reused for ``readiness_ttl``."""
        now = time.monotonic()
        if self._readiness is None or now - self._readiness[0] > self.timing.readiness_ttl:
            self._readiness = (now, await self._problem())
        if problem := self._readiness[1]:
            raise RuntimeError(problem)

    async def aclose(self) -> None:
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self._downloads.aclose()
        # The client has no close method of its own; its async HTTP client is created on first use.
        await self.client._async_client.aclose()

    # -- one prediction ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _uploaded(self, jpeg: bytes) -> AsyncIterator[str]:
        """The input as Replicate should fetch it; a blob put up for it is deleted afterwards."""
        if len(jpeg) <= DATA_URI_MAX_BYTES or self.blobs is None:
            yield "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
            return
        key = f"replicate/{uuid.uuid4().hex}.jpg"
        await self.blobs.put(key, jpeg, "image/jpeg")
        try:
            yield await self.blobs.url(key, INPUT_URL_LIFETIME)
        finally:
            with anyio.CancelScope(shield=True):
                await self.blobs.delete(key)

    async def _create(self, image: str) -> _Prediction:
        """Create the prediction. Replicate may hold the request open (``Prefer: wait``); if we stop
        waiting meanwhile, the request still runs to its answer and the prediction is then cancelled."""
        creating = asyncio.ensure_future(self._request_prediction(image))
        try:
            return _Prediction.of(await asyncio.shield(creating))
        except BaseException:
            self._keep(creating)
            creating.add_done_callback(self._cancel_once_created)
            raise

    def _cancel_once_created(self, creating: asyncio.Future[Any]) -> None:
        if not creating.cancelled() and creating.exception() is None:
            self._keep(asyncio.ensure_future(self._forget(_Prediction.of(creating.result()))))

    def _keep(self, future: asyncio.Future[Any]) -> None:
        """Hold a reference until done, so the loop does not drop it and ``aclose`` can wait for it."""
        self._background.add(future)
        future.add_done_callback(self._background.discard)

    async def _request_prediction(self, image: str) -> Any:
        params: dict[str, Any] = {"input": self.model.input(image), "wait": max(1, min(60, self.timing.prefer_wait))}
        if self.webhook_url:
            params.update(webhook=self.webhook_url, webhook_events_filter=["completed"])
        if self.model.version:
            return await self.client.predictions.async_create(version=self.model.version, **params)
        # ``predictions.async_create(model=...)`` drops ``wait`` on its way here; this sends ``Prefer: wait``.
        return await self.client.models.predictions.async_create(model=self.model.name, **params)

    async def _until_finished(self, prediction: _Prediction) -> _Prediction:
        inbox = self.inbox if self.webhook_url else None  # a webhook is expected
        step = self.timing.inbox_poll if inbox else self.timing.poll
        poll_every = self.timing.webhook_poll if inbox else self.timing.poll
        last_poll = time.monotonic()
        while not prediction.finished:
            await anyio.sleep(step)
            delivered = await inbox.get(prediction.id) if inbox else None
            if delivered is not None and (finished := _Prediction.of(delivered)).finished:
                return finished
            if time.monotonic() - last_poll >= poll_every:
                prediction = await self._poll(prediction)
                last_poll = time.monotonic()
        return prediction

    async def _poll(self, prediction: _Prediction) -> _Prediction:
        try:
            return _Prediction.of(await self.client.predictions.async_get(prediction.id))
        except (httpx.TransportError, ReplicateError) as error:
            if isinstance(error, ReplicateError) and (error.status or 0) < 500:
                raise
            log.warning("polling prediction %s failed (%s); trying again", prediction.id, _describe(error))
            return prediction

    def _output_url(self, prediction: _Prediction) -> str:
        if prediction.status == "failed":
            raise InferenceFailed(
                f"The model {self.model.name} failed: {prediction.error or 'no reason given'}",
                prediction_id=prediction.id,
                replicate_error=str(prediction.error or ""),
            )
        if prediction.status == "canceled":
            raise InferenceFailed("The prediction was canceled on Replicate.", prediction_id=prediction.id)
        if not isinstance(prediction.output, str) or not prediction.output.startswith(("https://", "http://")):
            raise InferenceFailed(
                f"The model {self.model.name} answered {prediction.output!r}, not an image URL.",
                prediction_id=prediction.id,
            )
        return prediction.output

    async def _download(self, url: str, limit: int) -> bytes:
        """The output, read as it arrives and refused once it passes ``limit`` bytes. It is asked for
        unencoded and read raw, so a compressed body cannot inflate past the limit in one chunk."""
        too_large = InferenceFailed(f"The output of {self.model.name} is larger than {limit} bytes.")
        buffer = bytearray()
        async with self._downloads.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise too_large
            async for chunk in response.aiter_raw():
                if len(buffer) + len(chunk) > limit:
                    raise too_large
                buffer += chunk
        return bytes(buffer)

    async def _forget(self, prediction: _Prediction) -> None:
        """Cancel an unfinished prediction (we no longer wait for it) and drop its delivery, even
        while our task is being cancelled."""
        with anyio.move_on_after(self.timing.cancel, shield=True):
            if not prediction.finished:
                try:
                    await self.client.predictions.async_cancel(prediction.id)
                except (ReplicateError, httpx.HTTPError) as error:
                    log.warning("cancelling prediction %s failed: %s", prediction.id, _describe(error))
            if self.inbox is not None:
                await self.inbox.delete(prediction.id)

    async def _problem(self) -> str | None:
        try:
            await self.client.accounts.async_current()
        except ReplicateError as error:
            if error.status in (401, 403):
                return "Replicate rejected REPLICATE_API_TOKEN"
            return f"Replicate answered {_describe(error)}"
        except httpx.HTTPError as error:
            return f"Replicate is unreachable: {_describe(error)}"
        return None


def _output_limit(picture: Picture) -> int:
    """The most an output for ``picture`` may take: its pixels as uncompressed RGBA (a PNG of them is
    hardly larger), counting at least ``FIXED_RESOLUTION_PIXELS`` for models that answer at a size of
    their own, and never more than ``MAX_OUTPUT_BYTES``."""
    pixels = max(picture.width * picture.height, FIXED_RESOLUTION_PIXELS)
    return min(MAX_OUTPUT_BYTES, 4 * pixels + OUTPUT_HEADER_BYTES)


def _encode_input(picture: Image.Image) -> bytes:
    """The picture as a JPEG: the model needs its shapes, not lossless pixels, and JPEG keeps photos small."""
    buffer = BytesIO()
    (picture if picture.mode == "RGB" else picture.convert("RGB")).save(buffer, "JPEG", quality=INPUT_JPEG_QUALITY)
    return buffer.getvalue()


def _describe(error: Exception) -> str:
    if isinstance(error, ReplicateError):
        return f"{error.status} {error.title or ''}: {error.detail or ''}".strip(" :")
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
