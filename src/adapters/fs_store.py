"""Blobs as files under one directory, downloadable through signed app URLs.

A blob's file holds its content type on the first line, then the bytes: one file per blob, so one
atomic rename publishes both. The file's modification time is when it was stored (by the store's
clock), which is what ``sweep`` compares.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from adapters.blob_names import check_key
from domain.errors import BlobMissing
from domain.ports import Clock

URL_PATH = "/api/v1/blobs/"
_PUT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class StoredBlob:
    data: bytes
    content_type: str


class FsBlobStore:
    def __init__(self, root: Path, public_url: str, secret_key: str, clock: Clock) -> None:
        self.root = root
        self._public_url = public_url.rstrip("/")
        # A key of its own, so a URL signature can never be replayed as another use of the secret.
        self._signing_key = hmac.new(secret_key.encode(), b"cutout blob urls", hashlib.sha256).digest()
        self._clock = clock

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        if "\n" in content_type or "\r" in content_type:
            raise ValueError(f"not a valid content type: {content_type!r}")
        stored_at = self._clock.now().timestamp()
        await asyncio.to_thread(self._write, path, content_type.encode() + b"\n", data, stored_at)

    async def get(self, key: str) -> bytes:
        return (await self.read(key)).data

    async def read(self, key: str) -> StoredBlob:
        """The bytes and their content type; raises ``BlobMissing``."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(_read, path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobMissing(key=key) from None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            await asyncio.to_thread(path.unlink)

    async def url(self, key: str, expires_in: timedelta, filename: str | None = None) -> str:
        check_key(key)
        expires = int((self._clock.now() + expires_in).timestamp())
        query = {"expires": expires, "signature": self._signature(key, expires, filename)}
        if filename:
            query["filename"] = filename
        return f"{self._public_url}{URL_PATH}{key}?{urlencode(query)}"

    def verify(self, key: str, expires: int, filename: str | None, signature: str) -> bool:
        """True when ``signature`` was made by ``url`` for exactly these values and has not expired."""
        try:
            check_key(key)
        except ValueError:
            return False
        fresh = self._clock.now().timestamp() <= expires
        return hmac.compare_digest(self._signature(key, expires, filename), signature) and fresh

    async def sweep(self, older_than: datetime) -> int:
        return await asyncio.to_thread(self._sweep, older_than.timestamp())

    async def check(self) -> None:
        await asyncio.to_thread(self._probe)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key

    def _signature(self, key: str, expires: int, filename: str | None) -> str:
        # Keys cannot hold a newline and expires is digits, so the message is unambiguous.
        message = f"{key}\n{expires}\n{filename or ''}".encode()
        digest = hmac.new(self._signing_key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _write(self, path: Path, header: bytes, data: bytes, stored_at: float) -> None:
        handle, temp = _temp_file_beside(path)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(header)
                file.write(data)
            os.utime(temp, (stored_at, stored_at))
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def _sweep(self, cutoff: float) -> int:
        deleted = 0
        for directory, _, files in os.walk(self.root, topdown=False):
            for name in files:
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    if os.stat(path).st_mtime < cutoff:
                        os.unlink(path)
                        if not name.startswith("."):  # dot-files are temp files a crash left behind
                            deleted += 1
            if directory != str(self.root):
                with contextlib.suppress(OSError):  # not empty: keep it
                    os.rmdir(directory)
        return deleted

    def _probe(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".ready-") as probe:
            probe.write(b"ok")
            probe.flush()


def _temp_file_beside(path: Path) -> tuple[int, str]:
    attempts_left = _PUT_ATTEMPTS
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except FileNotFoundError:  # a sweep removed the empty directory just now: make it again
            attempts_left -= 1
            if not attempts_left:
                raise


def _read(path: Path) -> StoredBlob:
    with path.open("rb") as file:
        content_type = file.readline().rstrip(b"\n").decode()
        return StoredBlob(file.read(), content_type)
