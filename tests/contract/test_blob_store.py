"""Both blob stores and the fake against one contract: files under a temp dir, S3 through the real
aioboto3 client against moto in server mode on loopback (real HTTP), and ``FakeBlobStore`` in memory.

Download URLs are fetched for real: the filesystem store's through the app's signed-URL route, the
S3 store's presigned URLs from moto with httpx, the fake's through its own ``serve``. moto 5.2 does
not enforce the expiry or the signature of presigned URLs (AWS does), so for S3 the tests check what
the URL asks S3 to enforce.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from api.conftest import fake_adapters, make_settings
from fakes import FakeBlobStore, FakeClock
from litestar.testing import AsyncTestClient
from moto.server import ThreadedMotoServer

from adapters import s3_store
from adapters.blob_names import attachment
from adapters.fs_store import FsBlobStore
from adapters.s3_store import S3BlobStore
from domain.errors import BlobMissing
from domain.ports import BlobStore
from entrypoints.bootstrap import build_blob_store
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
PREFIX = "cutout/blobs"
PUBLIC_URL = "http://testserver.local"
SECRET = "blob-test-secret"
BAD_KEYS = ["", "../escape", "jobs/../../etc/passwd", "/absolute", "jobs\\1\\input", "jobs//input", ".hidden", "a/./b"]


@dataclass
class Harness:
    store: BlobStore
    http: httpx.AsyncClient  # reaches the store's URLs
    now: Callable[[], datetime]
    pass_time: Callable[[float], Awaitable[None]]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials in the standard variables, and nothing from the developer's own AWS set-up."""
    for name in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def bucket(moto_endpoint: str, aws_env: None) -> str:
    name = f"cutout-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
async def s3_harness(moto_endpoint: str, bucket: str) -> AsyncIterator[Harness]:
    store = S3BlobStore(bucket, PREFIX, moto_endpoint)
    async with httpx.AsyncClient() as http:
        yield Harness(store, http, lambda: datetime.now(UTC), asyncio.sleep)
    await store.aclose()


@pytest.fixture
async def fs_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    store = FsBlobStore(tmp_path / "blobs", PUBLIC_URL, SECRET, clock)
    app = create_app(make_settings(tmp_path), fake_adapters(clock=clock, blob_store=store))

    async def pass_time(seconds: float) -> None:
        clock.advance(seconds=seconds)

    async with AsyncTestClient(app) as http:
        yield Harness(store, http, clock.now, pass_time)


@pytest.fixture
async def fake_harness() -> AsyncIterator[Harness]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    store = FakeBlobStore(clock)

    async def pass_time(seconds: float) -> None:
        clock.advance(seconds=seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(store.serve)) as http:
        yield Harness(store, http, clock.now, pass_time)


@pytest.fixture(params=["fs", "s3", "fake"])
def harness(request: pytest.FixtureRequest) -> Harness:
    return request.getfixturevalue(f"{request.param}_harness")


# The contract, on both stores and the fake.


async def test_put_then_get_returns_the_same_bytes(harness: Harness) -> None:
    data = os.urandom(3 * 1024 * 1024)
    await harness.store.put("jobs/1/input", data, "image/jpeg")
    assert await harness.store.get("jobs/1/input") == data
    await harness.store.put("jobs/1/input", b"replaced", "image/png")
    assert await harness.store.get("jobs/1/input") == b"replaced"


async def test_get_of_a_missing_key_raises_blob_missing(harness: Harness) -> None:
    with pytest.raises(BlobMissing) as missing:
        await harness.store.get("jobs/never/stored")
    assert missing.value.details == {"key": "jobs/never/stored"}


async def test_delete_removes_and_is_idempotent(harness: Harness) -> None:
    await harness.store.put("jobs/2/output", b"png", "image/png")
    await harness.store.delete("jobs/2/output")
    await harness.store.delete("jobs/2/output")
    await harness.store.delete("jobs/never/stored")
    with pytest.raises(BlobMissing):
        await harness.store.get("jobs/2/output")


async def test_url_downloads_the_bytes_with_their_type_and_name(harness: Harness) -> None:
    data = os.urandom(256 * 1024)
    await harness.store.put("jobs/3/output", data, "image/webp")

    named = await harness.http.get(await harness.store.url("jobs/3/output", timedelta(minutes=5), "cut out ü.webp"))
    assert named.status_code == 200, named.text
    assert named.content == data
    assert named.headers["content-type"] == "image/webp"
    assert named.headers["content-disposition"] == attachment("cut out ü.webp")
    assert named.headers["content-disposition"] == (
        "attachment; filename=\"cut out _.webp\"; filename*=UTF-8''cut%20out%20%C3%BC.webp"
    )

    plain = await harness.http.get(await harness.store.url("jobs/3/output", timedelta(minutes=5)))
    assert plain.status_code == 200 and plain.content == data
    assert "content-disposition" not in plain.headers


async def test_url_of_a_deleted_blob_finds_nothing(harness: Harness) -> None:
    await harness.store.put("jobs/4/output", b"png", "image/png")
    url = await harness.store.url("jobs/4/output", timedelta(minutes=5))
    await harness.store.delete("jobs/4/output")
    assert (await harness.http.get(url)).status_code == 404


async def test_sweep_deletes_only_blobs_stored_before_the_cutoff(harness: Harness) -> None:
    await harness.store.put("jobs/old-1/input", b"a", "image/png")
    await harness.store.put("jobs/old-2/output", b"b", "image/png")
    # S3 keeps LastModified to the second: leave a clear second either side of the cut-off.
    await harness.pass_time(1.1)
    cutoff = harness.now()
    await harness.pass_time(1.1)
    await harness.store.put("jobs/new/input", b"c", "image/png")

    assert await harness.store.sweep(cutoff) == 2
    assert await harness.store.get("jobs/new/input") == b"c"
    for key in ["jobs/old-1/input", "jobs/old-2/output"]:
        with pytest.raises(BlobMissing):
            await harness.store.get(key)
    assert await harness.store.sweep(cutoff) == 0


async def test_sweep_of_an_empty_store_deletes_nothing(harness: Harness) -> None:
    assert await harness.store.sweep(harness.now()) == 0


async def test_check_passes_on_a_writable_store(harness: Harness) -> None:
    await harness.store.check()
    assert await harness.store.sweep(harness.now() + timedelta(minutes=1)) == 0  # the probe left nothing behind


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_malformed_keys_are_refused(harness: Harness, key: str) -> None:
    with pytest.raises(ValueError, match="not a valid blob key"):
        await harness.store.put(key, b"x", "image/png")
    with pytest.raises(ValueError):
        await harness.store.get(key)
    with pytest.raises(ValueError):
        await harness.store.delete(key)
    with pytest.raises(ValueError):
        await harness.store.url(key, timedelta(minutes=1))


# The filesystem store.


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()} | changes
    return parts._replace(query=str(httpx.QueryParams(query))).geturl()


async def test_fs_url_expires(fs_harness: Harness) -> None:
    await fs_harness.store.put("jobs/5/output", b"png", "image/png")
    url = await fs_harness.store.url("jobs/5/output", timedelta(minutes=10))
    await fs_harness.pass_time(10 * 60)
    assert (await fs_harness.http.get(url)).status_code == 200  # valid up to its last second
    await fs_harness.pass_time(1)
    expired = await fs_harness.http.get(url)
    assert expired.status_code == 403
    assert expired.json()["error"]["code"] == "invalid_signature"


async def test_fs_url_with_any_part_changed_is_refused(fs_harness: Harness) -> None:
    store = fs_harness.store
    assert isinstance(store, FsBlobStore)
    await store.put("jobs/6/output", b"mine", "image/png")
    await store.put("jobs/7/output", b"theirs", "image/png")
    url = await store.url("jobs/6/output", timedelta(minutes=10), "mine.png")
    query = parse_qs(urlsplit(url).query)
    assert (await fs_harness.http.get(url)).status_code == 200

    signature = query["signature"][0]
    later = str(int(query["expires"][0]) + 3600)
    tampered = [
        _with(url, signature=("A" if signature[0] != "A" else "B") + signature[1:]),
        _with(url, expires=later),
        _with(url, filename="other.png"),
        url.replace("jobs/6/output", "jobs/7/output"),
        url.replace("&filename=mine.png", ""),
        await FsBlobStore(store.root, PUBLIC_URL, "another secret", FakeClock(fs_harness.now())).url(
            "jobs/6/output", timedelta(minutes=10), "mine.png"
        ),
    ]
    for bad in tampered:
        response = await fs_harness.http.get(bad)
        assert response.status_code == 403, bad
        assert response.json()["error"]["code"] == "invalid_signature"


async def test_fs_sweep_removes_emptied_directories_and_keeps_the_root(fs_harness: Harness) -> None:
    store = fs_harness.store
    assert isinstance(store, FsBlobStore)
    await store.put("jobs/8/input", b"a", "image/png")
    await store.put("jobs/9/input", b"b", "image/png")
    await fs_harness.pass_time(60)
    await store.put("jobs/9/output", b"c", "image/png")
    assert await store.sweep(fs_harness.now() - timedelta(seconds=30)) == 2
    assert sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*")) == [
        "jobs",
        "jobs/9",
        "jobs/9/output",
    ]
    assert await store.sweep(fs_harness.now() + timedelta(seconds=1)) == 1
    assert store.root.is_dir() and list(store.root.iterdir()) == []


async def test_fs_readers_never_see_half_a_blob(fs_harness: Harness) -> None:
    versions = [b"a" * (4 * 1024 * 1024), b"b" * (3 * 1024 * 1024)]
    await fs_harness.store.put("jobs/10/output", versions[0], "image/png")

    async def write() -> None:
        for i in range(30):
            await fs_harness.store.put("jobs/10/output", versions[i % 2], "image/png")

    async def read() -> list[bytes]:
        return [await fs_harness.store.get("jobs/10/output") for _ in range(60)]

    _, seen = await asyncio.gather(write(), read())
    assert {len(data) for data in seen} <= {len(v) for v in versions}
    assert all(data in versions for data in seen)


async def test_fs_a_failed_write_keeps_the_previous_blob_and_leaves_no_temp_file(
    fs_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fs_harness.store
    assert isinstance(store, FsBlobStore)
    await store.put("jobs/11/output", b"first", "image/png")

    def full_disk(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        await store.put("jobs/11/output", b"second", "image/png")
    assert await store.get("jobs/11/output") == b"first"
    assert [p.name for p in (store.root / "jobs/11").iterdir()] == ["output"]


async def test_fs_check_fails_when_the_directory_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    store = FsBlobStore(tmp_path / "a-file" / "blobs", PUBLIC_URL, SECRET, FakeClock())
    with pytest.raises(OSError):
        await store.check()


# The S3 store.


async def test_s3_url_asks_s3_to_expire_it(s3_harness: Harness, bucket: str) -> None:
    await s3_harness.store.put("jobs/12/output", b"png", "image/png")
    url = urlsplit(await s3_harness.store.url("jobs/12/output", timedelta(minutes=10)))
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert url.path == f"/{bucket}/{PREFIX}/jobs/12/output"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"].startswith("testing/")
    assert query["X-Amz-Expires"] == "600"
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(signed_at - datetime.now(UTC)) < timedelta(seconds=30)
    assert len(query["X-Amz-Signature"]) == 64
    with pytest.raises(ValueError, match="more than 7 days"):
        await s3_harness.store.url("jobs/12/output", timedelta(days=8))


async def test_s3_keeps_blobs_under_its_prefix_and_sweeps_nothing_else(
    s3_harness: Harness, bucket: str, moto_endpoint: str
) -> None:
    raw = boto3.client("s3", endpoint_url=moto_endpoint)
    raw.put_object(Bucket=bucket, Key="someone-else/old", Body=b"not ours")
    raw.put_object(Bucket=bucket, Key="cutout/blobs-elsewhere", Body=b"not ours either")
    await s3_harness.store.put("jobs/13/input", b"ours", "image/png")
    stored = raw.get_object(Bucket=bucket, Key=f"{PREFIX}/jobs/13/input")
    assert stored["Body"].read() == b"ours" and stored["ContentType"] == "image/png"

    assert await s3_harness.store.sweep(datetime.now(UTC) + timedelta(minutes=1)) == 1
    left = sorted(item["Key"] for item in raw.list_objects_v2(Bucket=bucket)["Contents"])
    assert left == ["cutout/blobs-elsewhere", "someone-else/old"]


async def test_s3_sweep_goes_through_every_page(s3_harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_store, "_LIST_PAGE_SIZE", 2)
    for i in range(5):
        await s3_harness.store.put(f"jobs/{i}/input", b"x", "image/png")
    assert await s3_harness.store.sweep(datetime.now(UTC) + timedelta(minutes=1)) == 5
    with pytest.raises(BlobMissing):
        await s3_harness.store.get("jobs/4/input")


async def test_s3_check_fails_clearly_for_a_missing_bucket(moto_endpoint: str, aws_env: None) -> None:
    store = S3BlobStore("no-such-bucket-here", PREFIX, moto_endpoint)
    try:
        with pytest.raises(RuntimeError, match="the S3 bucket 'no-such-bucket-here' does not exist"):
            await store.check()
    finally:
        await store.aclose()


# Which store the settings pick.


def test_the_default_store_is_a_directory_in_the_data_dir(tmp_path: Path) -> None:
    store, closers = build_blob_store(make_settings(tmp_path), FakeClock())
    assert isinstance(store, FsBlobStore) and store.root == tmp_path / "blobs"
    assert closers == []


async def test_an_s3_url_picks_the_s3_store(tmp_path: Path, moto_endpoint: str, bucket: str) -> None:
    settings = make_settings(
        tmp_path,
        CUTOUT_STORAGE_URL=f"s3://{bucket}/{PREFIX}",
        CUTOUT_S3_ENDPOINT_URL=moto_endpoint,
        AWS_REGION="eu-west-1",
    )
    store, closers = build_blob_store(settings, FakeClock())
    assert isinstance(store, S3BlobStore) and store.bucket == bucket
    try:
        await store.put("jobs/14/input", b"via settings", "image/png")
        assert await store.get("jobs/14/input") == b"via settings"
        url = await store.url("jobs/14/input", timedelta(minutes=1))
        assert parse_qs(urlsplit(url).query)["X-Amz-Credential"][0].split("/")[2] == "eu-west-1"
    finally:
        for close in closers:
            await close()


@pytest.mark.parametrize("url", ["ftp://host/blobs", "s3:///no-bucket", "file://relative-host/x", "blobs"])
def test_other_storage_urls_stop_the_start(tmp_path: Path, url: str) -> None:
    with pytest.raises(SystemExit, match="CUTOUT_STORAGE_URL must be"):
        make_settings(tmp_path, CUTOUT_STORAGE_URL=url)


def test_the_region_prefers_aws_region(tmp_path: Path) -> None:
    both = {"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-west-2"}
    assert Settings.from_env({"CUTOUT_DATA_DIR": str(tmp_path), "CUTOUT_SECRET_KEY": "s", **both}).s3_region == (
        "eu-central-1"
    )
    assert make_settings(tmp_path, AWS_DEFAULT_REGION="us-west-2").s3_region == "us-west-2"
