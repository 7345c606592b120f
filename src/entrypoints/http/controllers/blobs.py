"""Downloads through the signed URLs of the filesystem blob store: the signature is the authorisation.

On S3 the URLs are presigned and point at the bucket, so this route answers 404 there.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery

from adapters.blob_names import attachment
from adapters.fs_store import URL_PATH, FsBlobStore
from domain.errors import BlobMissing
from domain.ports import BlobStore
from entrypoints.http.errors import error_response
from entrypoints.http.injected import Injected

# Stored bytes are served from the app's own origin: never let a browser run them as a page.
_SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}


class BlobsController(Controller):
    """Signed links, not callers: no ``user``, and kept out of the API's schema."""

    path = URL_PATH
    include_in_schema = False

    @get("{key:path}")
    async def download_blob(
        self,
        request: Request[Any, Any, Any],
        blob_store: Injected[BlobStore],
        key: FromPath[str],
        expires: FromQuery[int],
        signature: FromQuery[str],
        filename: FromQuery[str | None] = None,
    ) -> Response[Any]:
        if not isinstance(blob_store, FsBlobStore):
            return error_response(request, 404, "not_found", "Not found.")
        key = key.removeprefix("/")
        if not blob_store.verify(key, expires, filename, signature):
            return error_response(request, 403, "invalid_signature", "This download link is invalid or has expired.")
        try:
            blob = await blob_store.read(key)
        except BlobMissing:
            return error_response(
                request, 404, "not_found", "The file is gone: stored images are deleted after a while."
            )
        headers = dict(_SAFE_HEADERS)
        if filename:
            headers["Content-Disposition"] = attachment(filename)
        return Response(blob.data, media_type=blob.content_type, headers=headers)
