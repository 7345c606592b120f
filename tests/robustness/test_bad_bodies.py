"""Bodies no parser should choke on: JSON nested 100 000 deep sent to every JSON route of the OpenAPI
document, multipart fields that are not UTF-8, and too many multipart parts or urlencoded fields, on
the three cut-out routes. Each is a 4xx with a stable code (remove.bg's error shape on /v1.0), never a 500. The real app
on SQLite, over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api.conftest import make_settings
from live_accounts import PASSWORD
from robustness.live_server import serve_in_thread
from robustness.real_app import migrated, real_adapters

from entrypoints.http.app import create_app

# Deep enough for any decoder's recursion limit, small enough for the 64 KB cap of the account routes.
DEEP_JSON = b"[" * 30_000 + b"]" * 30_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
CUTOUT_ROUTES = ["/api/v1/removebg", "/api/v1/jobs", "/v1.0/removebg"]


class Caller:
    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=60)
        signup = self.client.post("/api/v1/auth/signup", json={"email": "bodies@example.com", "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        self.csrf = {"X-CSRFToken": self.client.cookies["csrftoken"]}
        created = self.client.post("/api/v1/api-keys", json={"name": "bodies"}, headers=self.csrf)
        self.key = {"X-Api-Key": created.json()["key"]}

    def credentials(self, path: str) -> dict[str, str]:
        """remove.bg's routes take API keys only; every native route takes the browser's session."""
        return self.key if path.startswith("/v1.0/") else self.csrf


@pytest.fixture(scope="module")
def caller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Caller]:
    tmp = tmp_path_factory.mktemp("bodies")
    database_url = f"sqlite+aiosqlite:///{tmp / 'cutout.db'}"
    asyncio.run(migrated(database_url))
    with serve_in_thread(create_app(make_settings(tmp), real_adapters(database_url))) as base:
        caller = Caller(base)
        yield caller
        caller.client.close()


def json_routes(caller: Caller) -> list[tuple[str, str]]:
    document = caller.client.get("/schema/openapi.json").json()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "application/json" in (operation.get("requestBody") or {}).get("content", {})
    ]


def error_code(path: str, answer: httpx.Response) -> str:
    body: Any = answer.json()
    return body["errors"][0]["code"] if path.startswith("/v1.0/") else body["error"]["code"]


def multipart(*parts: tuple[bytes, bytes]) -> bytes:
    """Form fields; a name may carry the rest of the part's head (``size"\r\nContent-Type: ...``)."""
    head = b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
    return b"".join(head % name + value + b"\r\n" for name, value in parts) + b"--b--\r\n"


@pytest.mark.parametrize("body", [DEEP_JSON, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_is_a_400_on_every_json_route(caller: Caller, body: bytes) -> None:
    routes = json_routes(caller)
    assert {("POST", "/api/v1/auth/signup"), ("POST", "/api/v1/removebg"), ("POST", "/v1.0/removebg")} <= set(routes)
    answers = {}
    for method, template in routes:
        path = template.replace("{id}", str(uuid.uuid4()))
        headers = {"Content-Type": "application/json", **caller.credentials(path)}
        answer = caller.client.request(method, path, content=body, headers=headers)
        answers[f"{method} {path}"] = (answer.status_code, error_code(path, answer))
    assert all(answer == (400, "invalid_request") for answer in answers.values()), answers


@pytest.mark.parametrize("path", CUTOUT_ROUTES)
@pytest.mark.parametrize(
    "parts",
    [
        [(b"size", b"\xff\xfe\xc3")],
        [(b"image_url", b"http://example.com/\xe9.png")],
        [(b"size", b"preview"), (b"bg_color", b"\xc3\x28")],
        [(b'size"\r\nContent-Type: text/plain; charset=utf-16', b"pre")],
        [(b'size"\r\nContent-Type: text/plain; charset=no-such-charset', b"preview")],
    ],
    ids=["size", "image_url", "second field", "odd bytes in utf-16", "unknown charset"],
)
def test_multipart_fields_that_cannot_be_decoded_are_a_400(
    caller: Caller, path: str, parts: list[tuple[bytes, bytes]]
) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=b", **caller.key}
    answer = caller.client.post(path, content=multipart(*parts), headers=headers)
    assert (answer.status_code, error_code(path, answer)) == (400, "invalid_request"), answer.text


@pytest.mark.parametrize("path", CUTOUT_ROUTES)
def test_too_many_multipart_parts_are_a_4xx(caller: Caller, path: str) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=b", **caller.key}
    answer = caller.client.post(path, content=multipart(*[(b"x", b"1")] * 5000), headers=headers)
    assert answer.status_code in (400, 413), answer.text
    assert error_code(path, answer) in ("invalid_request", "file_too_large"), answer.text


@pytest.mark.parametrize("path", CUTOUT_ROUTES)
def test_too_many_urlencoded_fields_are_a_400(caller: Caller, path: str) -> None:
    """100 000 fields in 400 KB: read back field by field, they used to hold the event loop for 23 s."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", **caller.key}
    answer = caller.client.post(path, content=b"size=preview" + b"&a=1" * 100_000, headers=headers)
    assert (answer.status_code, error_code(path, answer)) == (400, "invalid_request"), answer.text
    few = caller.client.post(path, content=b"size=preview" + b"&a=1" * 50, headers=headers)
    assert (few.status_code, error_code(path, few)) == (400, "missing_source"), few.text  # still read as a form
