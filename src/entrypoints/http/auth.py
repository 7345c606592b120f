"""Who is calling: an API key header, a bearer token or the session cookie; and CSRF for cookies."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.openapi.spec import SecurityRequirement
from litestar.types import Receive, Scope, Send

from domain.errors import Unauthorized
from domain.sessions import SESSION_LIFETIME
from domain.use_cases.accounts import Authenticate
from domain.users import User
from entrypoints.http.injected import Injected

SESSION_COOKIE = "cutout_session"
SIGNED_IN: list[SecurityRequirement] = [{"apiKey": []}, {"bearer": []}, {"session": []}]
"""The OpenAPI security of every route that needs the ``user`` dependency."""
API_KEY_ONLY: list[SecurityRequirement] = [{"apiKey": []}]


def api_key_of(headers: Any) -> str | None:
    if key := headers.get("x-api-key"):
        return str(key)
    scheme, _, token = str(headers.get("authorization", "")).partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def current_user(request: Request[Any, Any, Any], authenticate: Injected[Authenticate]) -> User:
    """The ``user`` of every signed-in route (the app's default); 401 ``unauthorized`` when nobody is."""
    if key := api_key_of(request.headers):
        return await authenticate.by_api_key(key)
    if token := request.cookies.get(SESSION_COOKIE):
        return await authenticate.by_session(token)
    raise Unauthorized()


async def optional_user(request: Request[Any, Any, Any], authenticate: Injected[Authenticate]) -> User | None:
    """Like ``current_user``, but a request without any credentials is a signed-out visitor
    (``None``); credentials that do not check out are still 401."""
    if api_key_of(request.headers) or request.cookies.get(SESSION_COOKIE):
        return await current_user(request, authenticate)
    return None


async def api_key_user(request: Request[Any, Any, Any], authenticate: Injected[Authenticate]) -> User:
    """The owner of the ``X-Api-Key`` (or bearer) key; sessions do not count (remove.bg's API)."""
    key = api_key_of(request.headers)
    if key is None:
        raise Unauthorized("Send your API key in the X-Api-Key header.")
    return await authenticate.by_api_key(key)


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The address the connection comes from: what per-visitor rate limits count by."""
    return request.client.host if request.client else "unknown"


def set_session_cookie(response: Response[Any], token: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_session_cookie(response: Response[Any]) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def hand_out_csrf_cookie(request: Request[Any, Any, Any], response: Response[Any], config: CSRFConfig) -> None:
    """Give a client that just signed in its CSRF token now, instead of on its next safe request."""
    if config.cookie_name not in request.cookies:
        response.cookies.append(
            Cookie(
                key=config.cookie_name,
                value=generate_csrf_token(config.secret),
                path=config.cookie_path,
                secure=config.cookie_secure,
                httponly=config.cookie_httponly,
                samesite=config.cookie_samesite,
            )
        )


class CookieCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check, applied where CSRF is possible: to unsafe requests that a browser
    would authenticate with our session cookie. A request carrying an API key (a custom header
    no cross-site form can send) or no session cookie at all cannot ride on a victim's session.
    Browsers get the token cookie on safe requests; API clients are not handed one.

    It decides on the headers and cookies exactly as ``current_user`` will read them: Litestar's own
    parse, cached in the scope, so a request with two ``Cookie`` (or ``X-Api-Key``) headers cannot show
    this check one credential and the handler another."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
            if api_key_of(connection.headers):  # an API client: it needs neither the check nor the token cookie
                await self.app(scope, receive, send)
                return
            if scope["method"] not in self.config.safe_methods and SESSION_COOKIE not in connection.cookies:
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
