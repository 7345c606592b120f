"""A Replicate-compatible HTTP server of our own, on loopback, for the real ``replicate`` client.

It answers with the real API's shapes (RFC 7807 problems for errors; predictions with id, model,
version, status, urls, output, error, metrics), honours ``Prefer: wait``, fetches its inputs the way
Replicate does (data URIs, or URLs over HTTP), serves output files, cancels, and signs webhooks with
the secret it hands out at ``GET /v1/webhooks/default/secret`` (HMAC-SHA256 over
``id.timestamp.body``, written out here by hand, independently of the verifier under test).

Its "models" find the subject with ``mask_for(size)`` (a centred ellipse unless a test says otherwise)
and answer as the real ones do: an RGBA cut-out, or a greyscale matte for ``background_type=map``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any

from PIL import Image, ImageDraw

from domain.errors import BlobMissing

HOST = "127.0.0.1"
TOKEN = "r8_cutout_test_token"
STREAM_CHUNK = 64 * 1024
# Model -> the input fields its schema accepts (the first is the image). Community models by version.
SCHEMAS = {
    "bria/remove-background": {"image", "image_url", "preserve_alpha", "content_moderation"},
    "851-labs/background-remover": {"image", "threshold", "reverse", "background_type", "format"},
    "lucataco/remove-bg": {"image"},
}
OFFICIAL = {"bria/remove-background"}
VERSIONS = {
    "a029dff38972b5fda4ec5d75d7d1cd25aeff621d2cf4946a41055d7db66b80bc": "851-labs/background-remover",
    "95fcc2a26d3899cd6c2691c900465aaeff466285a65c14638cc5f36f34befaf1": "lucataco/remove-bg",
}


def centre_ellipse(size: tuple[int, int]) -> Image.Image:
    width, height = size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=255)
    return mask


@dataclass
class Behaviour:
    """What the next predictions do."""

    seconds: float = 0.0  # how long the model runs
    outcome: str = "succeeded"  # or "failed" / "canceled"
    error: str = "CUDA out of memory"
    honour_wait: bool = True  # hold a ``Prefer: wait`` request open until done (up to its limit)
    deliver_webhooks: bool = True
    output: bytes | None = None  # served instead of the model's answer
    output_length: int = 0  # if set, the output is this many bytes, made up as they are sent


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Prediction:
    data: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    timer: threading.Timer | None = None


class FakeReplicate:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.behaviour = Behaviour()
        self.mask_for: Callable[[tuple[int, int]], Image.Image] = centre_ellipse
        self.fail_next: list[int] = []  # statuses answered to the next create requests, in order
        self.requests: list[Recorded] = []
        self.predictions: dict[str, _Prediction] = {}
        self.files: dict[str, bytes] = {}  # outputs, served at /files/<name>
        self.streamed: dict[str, int] = {}  # outputs of ``output_length`` bytes: how many of them were sent
        self.blobs: dict[str, bytes] = {}  # a test blob store's contents, served at /blobs/<key>
        self.fetched: list[str] = []  # input URLs fetched
        self.deliveries: list[tuple[str, int]] = []  # webhook URL, the status it answered
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer((HOST, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_port}"

    def __enter__(self) -> FakeReplicate:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            for prediction in self.predictions.values():
                if prediction.timer:
                    prediction.timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    # -- what tests look at -------------------------------------------------------------------------

    def calls(self, method: str, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def sign(self, body: bytes, webhook_id: str, timestamp: int) -> dict[str, str]:
        """The headers Replicate sends with a delivery of ``body``."""
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": "v1," + base64.b64encode(digest).decode(),
            "content-type": "application/json",
        }

    # -- the API ------------------------------------------------------------------------------------

    def create(self, model: str, version: str, body: dict[str, Any], prefer: str | None) -> tuple[int, Any]:
        with self._lock:
            if self.fail_next:
                status = self.fail_next.pop(0)
                return status, {"title": "Request was throttled" if status == 429 else "Server error", "status": status}
        inputs = body.get("input") or {}
        unknown = set(inputs) - SCHEMAS[model]
        if unknown or "image" not in inputs:
            detail = f"- input: unexpected {sorted(unknown)}" if unknown else "- input: image is required"
            return 422, {"title": "Input validation failed", "detail": detail, "status": 422}
        try:
            picture = self._fetch(inputs["image"])
        except Exception as error:
            return 422, {"title": "Input validation failed", "detail": f"- image: {error}", "status": 422}
        behaviour = self.behaviour
        pid = secrets.token_hex(13)[:26]
        now = _iso(time.time())
        prediction = _Prediction(
            {
                "id": pid,
                "model": model,
                "version": version,
                "input": inputs,
                "logs": "",
                "output": None,
                "data_removed": False,
                "error": None,
                "status": "starting",
                "created_at": now,
                "started_at": None,
                "completed_at": None,
                "metrics": {},
                "urls": {
                    "get": f"{self.url}/v1/predictions/{pid}",
                    "cancel": f"{self.url}/v1/predictions/{pid}/cancel",
                    "web": f"{self.url}/p/{pid}",
                },
                **({"webhook": body["webhook"]} if body.get("webhook") else {}),
            }
        )
        with self._lock:
            self.predictions[pid] = prediction
        finish = partial(self._finish, pid, picture, inputs, behaviour)
        if behaviour.seconds <= 0:
            finish()
        else:
            prediction.timer = threading.Timer(behaviour.seconds, finish)
            prediction.timer.start()
            if prefer and behaviour.honour_wait:
                limit = int(prefer.partition("=")[2] or 60)
                prediction.done.wait(limit)
        return 201, self.get(pid)[1]

    def get(self, pid: str) -> tuple[int, Any]:
        with self._lock:
            if pid not in self.predictions:
                return 404, {"title": "Not found", "detail": "Prediction not found", "status": 404}
            data = self.predictions[pid].data
            if data["status"] == "starting" and self.calls("GET", f"/v1/predictions/{pid}"):
                data.update(status="processing", started_at=_iso(time.time()))
            return 200, json.loads(json.dumps(data))

    def cancel(self, pid: str) -> tuple[int, Any]:
        with self._lock:
            if pid not in self.predictions:
                return 404, {"title": "Not found", "status": 404}
            prediction = self.predictions[pid]
            if prediction.data["status"] not in ("succeeded", "failed", "canceled"):
                if prediction.timer:
                    prediction.timer.cancel()
                prediction.data.update(status="canceled", completed_at=_iso(time.time()))
                prediction.done.set()
        return self.get(pid)

    def _finish(self, pid: str, picture: Image.Image, inputs: dict[str, Any], behaviour: Behaviour) -> None:
        with self._lock:
            data = self.predictions[pid].data
            if data["status"] == "canceled":
                return
            update: dict[str, Any] = {"status": behaviour.outcome, "completed_at": _iso(time.time())}
            update["metrics"] = {"predict_time": behaviour.seconds}
            if behaviour.outcome == "succeeded":
                if behaviour.output_length:
                    self.streamed[f"{pid}.png"] = 0
                else:
                    self.files[f"{pid}.png"] = behaviour.output or self._run_model(picture, inputs)
                update["output"] = f"{self.url}/files/{pid}.png"
            elif behaviour.outcome == "failed":
                update["error"] = behaviour.error
                update["logs"] = f"Traceback (most recent call last):\n{behaviour.error}\n"
            data.update(update)
            self.predictions[pid].done.set()
            payload = json.dumps(data).encode()
        if data.get("webhook") and behaviour.deliver_webhooks:
            threading.Thread(target=self._deliver, args=(data["webhook"], payload), daemon=True).start()

    def _run_model(self, picture: Image.Image, inputs: dict[str, Any]) -> bytes:
        mask = self.mask_for(picture.size)
        if inputs.get("background_type") == "map":
            answer = mask
        else:
            answer = picture.convert("RGBA")
            answer.putalpha(mask)
        buffer = BytesIO()
        answer.save(buffer, "PNG")
        return buffer.getvalue()

    def _fetch(self, image: str) -> Image.Image:
        if image.startswith("data:"):
            data = base64.b64decode(image.partition(",")[2])
        else:
            with urllib.request.urlopen(image, timeout=5) as response:  # noqa: S310 (a test server on loopback)
                data = response.read()
            with self._lock:
                self.fetched.append(image)
        picture = Image.open(BytesIO(data))
        picture.load()
        return picture

    def _deliver(self, url: str, payload: bytes) -> None:
        headers = self.sign(payload, "msg_" + secrets.token_hex(12), int(time.time()))
        request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0  # nobody listening
        with self._lock:
            self.deliveries.append((url, status))


class ServedBlobStore:
    """A ``BlobStore`` whose URLs the fake server serves, as a real store's presigned URLs would be."""

    def __init__(self, fake: FakeReplicate) -> None:
        self.fake = fake
        self.issued: list[str] = []

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.fake.blobs[key] = data

    async def get(self, key: str) -> bytes:
        if key not in self.fake.blobs:
            raise BlobMissing(key=key)
        return self.fake.blobs[key]

    async def delete(self, key: str) -> None:
        self.fake.blobs.pop(key, None)

    async def url(self, key: str, expires_in: timedelta, filename: str | None = None) -> str:
        expires = int((datetime.now(UTC) + expires_in).timestamp())
        url = f"{self.fake.url}/blobs/{key}?expires={expires}&signature={secrets.token_hex(8)}"
        self.issued.append(url)
        return url

    async def sweep(self, older_than: datetime) -> int:
        return 0

    async def check(self) -> None:
        return None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _handler(fake: FakeReplicate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw and "json" in self.headers.get("content-type", "") else raw
            path = self.path.partition("?")[0]
            with fake._lock:
                fake.requests.append(Recorded(method, path, {k.lower(): v for k, v in self.headers.items()}, body))
            parts = path.strip("/").split("/")
            if method == "GET" and parts[0] in ("files", "blobs"):
                store = fake.files if parts[0] == "files" else fake.blobs
                name = "/".join(parts[1:])
                if parts[0] == "files" and name in fake.streamed:
                    return self._stream(name, fake.behaviour.output_length)
                if name in store:
                    return self._send(200, store[name], "image/png")
                return self._send(404, b"not found", "text/plain")
            if self.headers.get("authorization") != f"Bearer {fake.token}":
                problem = {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token"}
                return self._json(401, {**problem, "status": 401})
            self._json(*self._api(method, parts, body))

        def _api(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
            prefer = self.headers.get("prefer")
            match method, parts:
                case "POST", ["v1", "models", owner, name, "predictions"]:
                    model = f"{owner}/{name}"
                    if model not in OFFICIAL:
                        return 404, {"title": "Not found", "detail": "Only official models run by name", "status": 404}
                    return fake.create(model, "hidden", body, prefer)
                case "POST", ["v1", "predictions"]:
                    version = body.get("version", "")
                    if version not in VERSIONS:
                        return 422, {"title": "Invalid version", "detail": "- version: not found", "status": 422}
                    return fake.create(VERSIONS[version], version, body, prefer)
                case "GET", ["v1", "predictions", pid]:
                    return fake.get(pid)
                case "POST", ["v1", "predictions", pid, "cancel"]:
                    return fake.cancel(pid)
                case "GET", ["v1", "webhooks", "default", "secret"]:
                    return 200, {"key": fake.secret}
                case "GET", ["v1", "account"]:
                    return 200, {"type": "user", "username": "cutout", "name": "Cutout", "github_url": None}
            return 404, {"title": "Not found", "status": 404}

        def _json(self, status: int, payload: Any) -> None:
            content_type = "application/problem+json" if status >= 400 else "application/json"
            self._send(status, json.dumps(payload).encode(), content_type)

        def _stream(self, name: str, length: int) -> None:
            """``length`` bytes of a PNG signature and zeros, sent until done or the client hangs up. No
            length is announced (the body ends with the connection), so only counting tells it is too long."""
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = memoryview(b"\x89PNG\r\n\x1a\n" + bytes(STREAM_CHUNK - 8))
            with contextlib.suppress(OSError):  # the client stopped reading and closed the connection
                while fake.streamed[name] < length:
                    piece = chunk[: length - fake.streamed[name]]
                    self.wfile.write(piece)
                    fake.streamed[name] += len(piece)
            self.close_connection = True

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
