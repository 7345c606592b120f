"""Blobs in an S3 (or S3-compatible) bucket under a prefix; downloads are presigned URLs.

One aioboto3 client serves the process: it is opened on first use and closed by ``aclose``.
Credentials come the standard AWS way (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile,
an instance role).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import ClientError

from adapters.blob_names import attachment, check_key
from domain.errors import BlobMissing

log = logging.getLogger(__name__)

MAX_URL_LIFETIME = timedelta(days=7)  # the longest a SigV4 presigned URL can be valid
_LIST_PAGE_SIZE = 1000  # also the most one DeleteObjects call takes, so a page's old keys fit one call


class S3BlobStore:
    def __init__(
        self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str | None = None
    ) -> None:
        self.bucket = bucket
        self._prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self._endpoint_url = endpoint_url
        self._region = region
        self._client: Any = None
        self._opening = asyncio.Lock()
        self._exit_stack = contextlib.AsyncExitStack()

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as error:
            if _code(error) in {"NoSuchKey", "404"}:
                raise BlobMissing(key=key) from None
            raise
        async with response["Body"] as body:
            return await body.read()

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    async def url(self, key: str, expires_in: timedelta, filename: str | None = None) -> str:
        if expires_in > MAX_URL_LIFETIME:
            raise ValueError(f"S3 URLs cannot be valid for more than {MAX_URL_LIFETIME}")
        params = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if filename:
            params["ResponseContentDisposition"] = attachment(filename)
        s3 = await self._s3()
        return await s3.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_in.total_seconds()))

    async def sweep(self, older_than: datetime) -> int:
        s3 = await self._s3()
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._prefix, PaginationConfig={"PageSize": _LIST_PAGE_SIZE}
        )
        deleted = 0
        async for page in pages:
            old = [{"Key": item["Key"]} for item in page.get("Contents", []) if item["LastModified"] < older_than]
            if old:
                response = await s3.delete_objects(Bucket=self.bucket, Delete={"Objects": old, "Quiet": True})
                errors = response.get("Errors", [])
                for error in errors:
                    log.warning("could not delete s3://%s/%s: %s", self.bucket, error["Key"], error["Message"])
                deleted += len(old) - len(errors)
        return deleted

    async def check(self) -> None:
        s3 = await self._s3()
        probe = f"{self._prefix}.ready-{uuid.uuid4().hex}"
        try:
            await s3.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
            await s3.delete_object(Bucket=self.bucket, Key=probe)
        except ClientError as error:
            if _code(error) == "NoSuchBucket":
                raise RuntimeError(f"the S3 bucket {self.bucket!r} does not exist") from error
            raise

    async def aclose(self) -> None:
        await self._exit_stack.aclose()
        self._client = None

    def _object_key(self, key: str) -> str:
        check_key(key)
        return self._prefix + key

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    self._client = await self._exit_stack.enter_async_context(self._new_client())
        return self._client

    def _new_client(self) -> Any:
        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"mode": "standard"},
            signature_version="s3v4",  # presigned URLs would otherwise be SigV2, which most regions refuse
            # S3-compatible servers (MinIO, moto, ...) are reached by path: bucket names need no DNS there.
            s3={"addressing_style": "path"} if self._endpoint_url else None,
        )
        session = aioboto3.Session(region_name=self._region)
        return session.client("s3", endpoint_url=self._endpoint_url, config=config)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
