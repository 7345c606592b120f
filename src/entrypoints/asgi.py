"""The ASGI entry for servers: ``uvicorn --factory entrypoints.asgi:app``."""

from litestar import Litestar

from entrypoints.bootstrap import build_adapters
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


def app() -> Litestar:
    settings = Settings.from_env()
    return create_app(settings, build_adapters(settings))
