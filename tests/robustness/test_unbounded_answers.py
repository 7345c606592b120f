"""#16: answers from outside are read only as far as they are needed. A callback receiver answering
200 with a 200 MB body, and a Replicate output far larger than any mask of the picture, cost the
process no more than a few MB: the callback is recorded delivered on its status alone, and the output
is refused (``inference_failed``, refunded) once it passes the limit."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fake_replicate import TOKEN, FakeReplicate
from images import encode, person_scene
from robustness.job_flows import account, finished, served
from sqlalchemy import select

from adapters.cpu import CpuPool
from adapters.replicate_models import resolve
from adapters.replicate_remover import ReplicateRemover, Timing, replicate_client
from adapters.sql.engine import create_engine
from adapters.sql.models import WebhookDeliveryRow
from adapters.webhook_sender import SignedWebhookSender

PHOTO = encode(person_scene(640, 480)[0], quality=90)
HUGE = 200_000_000
CHUNK = 64 * 1024
MEMORY_BOUND = 50_000_000


class HugeAnswer:
    """A callback receiver on loopback that answers 200 and then up to ``HUGE`` bytes of body,
    made up as they are sent, until the client hangs up."""

    def __init__(self) -> None:
        self.sent = 0
        self.answered = threading.Event()


@contextlib.contextmanager
def huge_receiver() -> Iterator[tuple[HugeAnswer, str]]:
    state = HugeAnswer()
    zeros = bytes(CHUNK)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(HUGE))
            self.end_headers()
            state.answered.set()
            with contextlib.suppress(OSError):  # the client hung up
                while state.sent < HUGE:
                    self.wfile.write(zeros)
                    state.sent += CHUNK
            self.close_connection = True

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


async def delivery_status(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(select(WebhookDeliveryRow.status))
    finally:
        await engine.dispose()


async def until_recorded(database_url: str) -> str:
    async with asyncio.timeout(120):
        while (status := await delivery_status(database_url)) in (None, "pending"):
            await asyncio.sleep(0.1)
    return status


@contextlib.contextmanager
def traced() -> Iterator[list[int]]:
    """The peak of traced allocations above what was allocated at the start, in bytes."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    growth: list[int] = []
    try:
        yield growth
    finally:
        growth.append(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()


async def test_a_callback_answered_with_a_huge_body_is_delivered_without_reading_it(
    any_database: str, tmp_path: Path
) -> None:
    loopback = SignedWebhookSender(address_allowed=lambda address: address.is_loopback)
    with huge_receiver() as (receiver, url), served(any_database, tmp_path, webhook_sender=loopback) as base:
        async with account(base, any_database, "hooks@example.com", credits=0) as client:
            with traced() as growth:
                submitted = await client.post(
                    "/api/v1/jobs",
                    files={"image_file": ("p.jpg", PHOTO)},
                    data={"size": "preview", "callback_url": url},
                )
                assert submitted.status_code == 202, submitted.text
                assert (await finished(client, submitted.json()["id"]))["status"] == "succeeded"
                status = await until_recorded(any_database)
    assert receiver.answered.is_set()
    assert status == "delivered"
    assert growth[0] < MEMORY_BOUND
    assert receiver.sent < HUGE  # the sender hung up instead of reading it all


async def test_a_replicate_output_larger_than_the_limit_is_refused_unread(any_database: str, tmp_path: Path) -> None:
    with FakeReplicate() as fake:
        fake.behaviour.output_length = HUGE
        remover = ReplicateRemover(
            replicate_client(TOKEN, fake.url), resolve("bria/remove-background"), CpuPool(), timing=Timing(poll=0.05)
        )
        with served(any_database, tmp_path, remover=remover) as base:
            async with account(base, any_database, "gpu@example.com", credits=1) as client:
                with traced() as growth:
                    answer = await client.post(
                        "/api/v1/removebg", files={"image_file": ("p.jpg", PHOTO)}, data={"size": "full"}
                    )
                balance = (await client.get("/api/v1/credits")).json()
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "inference_failed"
    assert balance["balance"] == 1 and sorted(e["kind"] for e in balance["entries"]) == [
        "admin_grant",
        "charge",
        "refund",
    ]
    assert growth[0] < MEMORY_BOUND
    [sent] = fake.streamed.values()
    assert sent < HUGE
