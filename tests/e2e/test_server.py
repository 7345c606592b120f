"""The whole product as a user meets it: a real `cutout serve` process on loopback, the real
model, SQLite under a fresh data directory, driven over HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import numpy as np
import pytest
from images import encode, person_scene
from PIL import Image

pytestmark = pytest.mark.model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, **env: str) -> dict[str, str]:
    """The environment of a `cutout serve` on a free port with its own data directory (SQLite)."""
    port = free_port()
    merged = {
        **os.environ,
        "CUTOUT_DATA_DIR": str(data_dir),
        "CUTOUT_PORT": str(port),
        "CUTOUT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # One server serves a whole module or package of tests, all signing up from loopback.
        "CUTOUT_SIGNUPS_PER_HOUR": "1000",
        "CUTOUT_LOGINS_PER_MINUTE": "1000",
        **env,
    }
    merged.pop("CUTOUT_DATABASE_URL", None)
    return merged


@contextlib.contextmanager
def running(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Run `cutout serve` with ``env`` until the block ends; yields its base URL and pid once it is ready."""
    base = env["CUTOUT_PUBLIC_URL"]
    cutout = Path(sys.executable).with_name("cutout")
    # The server's output goes to a file: a pipe nobody reads fills up and blocks the server.
    log_path = Path(env["CUTOUT_DATA_DIR"]) / "serve.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen([str(cutout), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text(errors="replace")
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(f"cutout serve did not become ready in 60 s:\n{log_path.read_text(errors='replace')}")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """Like ``running``, for callers that need only the base URL."""
    with running(env) as (base, _pid):
        yield base


def start_server(tmp_path_factory: pytest.TempPathFactory, **env: str) -> Iterator[str]:
    """A `cutout serve` on a free port with a fresh data directory; yields its base URL."""
    data_dir = tmp_path_factory.mktemp("var")
    with serving(server_env(data_dir, **env)) as base:
        yield base
    assert (data_dir / "cutout.db").exists()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from start_server(tmp_path_factory)


def test_sign_up_key_cut_out_preview_and_run_out(server: str) -> None:
    photo, subject = person_scene(1600, 1200)
    jpeg = encode(photo, quality=90)
    with httpx.Client(base_url=server, timeout=60) as browser:
        signup = browser.post("/api/v1/auth/signup", json={"email": "e2e@example.com", "password": "correct horse"})
        assert signup.status_code == 201
        assert browser.get("/api/v1/me").json()["credits"] == 3
        created = browser.post(
            "/api/v1/api-keys", json={"name": "e2e"}, headers={"X-CSRFToken": browser.cookies["csrftoken"]}
        )
        assert created.status_code == 201
        key = created.json()["key"]

    with httpx.Client(base_url=server, timeout=60, headers={"X-Api-Key": key}) as api:
        full = api.post(
            "/api/v1/removebg", files={"image_file": ("photo.jpg", jpeg, "image/jpeg")}, data={"size": "full"}
        )
        assert full.status_code == 200, full.text
        assert full.headers["x-credits-charged"] == "1"
        assert full.headers["content-type"] == "image/png"
        result = Image.open(BytesIO(full.content))
        assert result.mode == "RGBA" and result.size == (1600, 1200)
        alpha = np.asarray(result.getchannel("A"))
        inside = np.asarray(subject.resize((1600, 1200))) > 0
        assert alpha[inside].mean() > 180  # the person stays
        assert alpha[:150, :150].mean() < 40  # the background is gone

        preview = api.post("/api/v1/removebg", files={"image_file": ("photo.jpg", jpeg)}, data={"size": "preview"})
        assert preview.status_code == 200 and preview.headers["x-credits-charged"] == "0"
        assert int(preview.headers["x-width"]) * int(preview.headers["x-height"]) <= 250_000

        for _ in range(2):
            assert (
                api.post("/api/v1/removebg", files={"image_file": ("p.jpg", jpeg)}, data={"size": "full"}).status_code
                == 200
            )
        broke = api.post("/api/v1/removebg", files={"image_file": ("p.jpg", jpeg)}, data={"size": "full"})
        assert broke.status_code == 402 and broke.json()["error"]["code"] == "insufficient_credits"
        assert api.get("/api/v1/me").json()["credits"] == 0


def test_bad_input_is_refused_fast_and_the_server_keeps_serving(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as browser:
        browser.post("/api/v1/auth/signup", json={"email": "bad@example.com", "password": "correct horse"})
        key = browser.post(
            "/api/v1/api-keys", json={"name": "k"}, headers={"X-CSRFToken": browser.cookies["csrftoken"]}
        ).json()["key"]
    bomb = encode(Image.new("1", (30000, 30000)), "PNG", optimize=True)
    assert len(bomb) < 200_000
    jpeg = encode(person_scene(800, 600)[0])
    cases = [
        (b"", 400, "invalid_image"),
        (b"just some text", 400, "invalid_image"),
        (jpeg[: len(jpeg) // 2], 400, "invalid_image"),
        (encode(Image.new("RGB", (10, 10)), "GIF"), 415, "unsupported_format"),
        (bomb, 400, "image_too_large"),
    ]
    with httpx.Client(base_url=server, timeout=30, headers={"X-Api-Key": key}) as api:
        for payload, status, code in cases:
            started = time.monotonic()
            response = api.post("/api/v1/removebg", files={"image_file": ("x.png", payload)}, data={"size": "full"})
            assert (response.status_code, response.json()["error"]["code"]) == (status, code)
            assert time.monotonic() - started < 10  # decoding the bomb's 900 MP would take minutes
        too_big = api.post("/api/v1/removebg", files={"image_file": ("x.jpg", b"\0" * 26_000_000)})
        assert too_big.status_code == 413
        assert api.get("/api/v1/me").json()["credits"] == 3
        assert api.get("/health/live").status_code == 200


def test_image_url_refuses_private_addresses_in_every_spelling(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    with httpx.Client(base_url=server, timeout=30) as browser:
        browser.post("/api/v1/auth/signup", json={"email": "ssrf@example.com", "password": "correct horse"})
        key = browser.post(
            "/api/v1/api-keys", json={"name": "k"}, headers={"X-CSRFToken": browser.cookies["csrftoken"]}
        ).json()["key"]
    urls = [
        f"http://127.0.0.1:{port}/health/live",
        f"http://localhost:{port}/health/live",
        f"http://[::1]:{port}/",
        f"http://2130706433:{port}/",
        f"http://127.1:{port}/",
        "http://10.0.0.1/a.jpg",
        "http://192.168.0.1/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "ftp://example.com/a.jpg",
    ]
    with httpx.Client(base_url=server, timeout=30, headers={"X-Api-Key": key}) as api:
        for url in urls:
            response = api.post("/api/v1/removebg", json={"image_url": url})
            assert (response.status_code, response.json()["error"]["code"]) == (400, "url_not_allowed"), url
        assert api.get("/api/v1/me").json()["credits"] == 3


def test_unknown_email_and_wrong_password_take_about_the_same_time(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        client.post("/api/v1/auth/signup", json={"email": "timing@example.com", "password": "correct horse"})
        client.cookies.clear()

        def login_time(email: str) -> float:
            started = time.perf_counter()
            response = client.post("/api/v1/auth/login", json={"email": email, "password": "wrong horse"})
            assert response.status_code == 401
            return time.perf_counter() - started

        # Interleaved, so a busy machine slows both alike; under the throttle's free attempts for each email.
        known, unknown = [], []
        for _ in range(4):
            known.append(login_time("timing@example.com"))
            unknown.append(login_time("nobody-here@example.com"))
    known_median, unknown_median = sorted(known)[1], sorted(unknown)[1]
    assert known_median > 0.01 and unknown_median > 0.01  # both paid for an argon2 verification
    assert max(known_median, unknown_median) / min(known_median, unknown_median) < 3


def test_the_server_keeps_serving_past_what_a_pipe_of_its_output_would_hold(server: str) -> None:
    # Each request writes an access-log line; 2,000 of them are well past a pipe's 64 KB.
    with httpx.Client(base_url=server, timeout=30) as client:
        for _ in range(2_000):
            assert client.get("/health/live").status_code == 200
