"""The callback sender against a receiver on loopback: real HTTP, the signature checked by hand per the spec."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from adapters.webhook_sender import SignedWebhookSender
from domain.errors import UrlFetchFailed, UrlNotAllowed
from domain.webhooks import new_secret


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 204


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks/cutout"
    finally:
        server.shutdown()


def loopback_allowed() -> SignedWebhookSender:
    return SignedWebhookSender(address_allowed=lambda address: address.is_loopback)


def expected_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


async def test_posts_the_json_signed_the_standard_webhooks_way(receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    secret = new_secret()
    payload = json.dumps({"type": "job.succeeded", "data": {"id": "42"}}).encode()
    await loopback_allowed().send(url, secret, "msg_1", payload)
    [(headers, body)] = state.requests
    assert body == payload and headers["content-type"] == "application/json"
    assert headers["webhook-id"] == "msg_1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["webhook-signature"] == expected_signature(secret, headers, body)
    assert headers["webhook-signature"] != expected_signature(new_secret(), headers, body)


async def test_a_non_2xx_answer_is_a_failure_to_retry(receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    state.status = 500
    with pytest.raises(UrlFetchFailed) as failure:
        await loopback_allowed().send(url, new_secret(), "msg_2", b"{}")
    assert failure.value.details["status"] == 500


async def test_private_addresses_are_refused_before_connecting(receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    with pytest.raises(UrlNotAllowed):
        await SignedWebhookSender().send(url, new_secret(), "msg_3", b"{}")  # the default policy: public only
    with pytest.raises(UrlNotAllowed):
        await SignedWebhookSender().send("http://169.254.169.254/latest", new_secret(), "msg_4", b"{}")
    assert state.requests == []


async def test_an_unreachable_receiver_is_a_failure_to_retry() -> None:
    with pytest.raises(UrlFetchFailed):
        await loopback_allowed().send("http://127.0.0.1:9/none", new_secret(), "msg_5", b"{}")
