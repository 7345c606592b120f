"""The static site (the Pelican build) at ``/``, beside ``/api``, ``/schema`` and ``/health``."""

from __future__ import annotations

import logging
from pathlib import Path

from litestar import Router
from litestar.static_files import create_static_files_router

log = logging.getLogger(__name__)


def site_router(directory: Path) -> Router:
    """Serves ``directory/x/index.html`` at ``/x/`` and ``404.html`` for unknown pages. The API
    works without it: a site that was never built only makes these pages 404."""
    if not (directory / "index.html").is_file():
        log.warning("no site in %s: run `make site` to build the pages served at /", directory)
    return create_static_files_router(path="/", directories=[directory], html_mode=True, name="site")
