"""Sign-up, login, logout and the signed-in account."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from domain.errors import Unauthorized
from domain.users import User
from entrypoints.bootstrap import Services
from entrypoints.http.auth import (
    SESSION_COOKIE,
    SIGNED_IN,
    clear_session_cookie,
    client_ip,
    hand_out_csrf_cookie,
    optional_user,
    set_session_cookie,
)
from entrypoints.http.schemas import SMALL_BODY_BYTES, Account, Credentials, SessionState, error_responses

AUTH = ["auth"]


def _signed_in(request: Request[Any, Any, Any], account: Account, token: str, status: int) -> Response[Account]:
    response = Response(account, status_code=status)
    set_session_cookie(response, token, request.app.state.settings.secure_cookies)
    hand_out_csrf_cookie(request, response, request.app.state.csrf)
    return response


@post(
    "/api/v1/auth/signup",
    request_max_body_size=SMALL_BODY_BYTES,
    tags=AUTH,
    summary="Create an account and sign in",
    status_code=201,
    responses=error_responses(400, 409, 413, 422, 429),
)
async def sign_up(request: Request[Any, Any, Any], data: JSONBody[Credentials]) -> Response[Account]:
    services: Services = request.app.state.services
    user = await services.sign_up(data.email, data.password, client_ip(request))
    token = await services.start_session(user)
    return _signed_in(request, Account.of(user, await services.get_balance(user)), token, 201)


@post(
    "/api/v1/auth/login",
    request_max_body_size=SMALL_BODY_BYTES,
    tags=AUTH,
    summary="Sign in with email and password",
    status_code=200,
    responses=error_responses(400, 401, 413, 422, 429),
)
async def log_in(request: Request[Any, Any, Any], data: JSONBody[Credentials]) -> Response[Account]:
    services: Services = request.app.state.services
    user, token = await services.log_in(data.email, data.password, client_ip(request))
    return _signed_in(request, Account.of(user, await services.get_balance(user)), token, 200)


@post(
    "/api/v1/auth/logout",
    tags=AUTH,
    summary="End this browser session",
    status_code=204,
    # Litestar documents a JSON body for Response[None]; a 204 has none.
    responses={204: ResponseSpec(None, description="Signed out"), **error_responses(403)},
)
async def log_out(request: Request[Any, Any, Any]) -> Response[None]:
    services: Services = request.app.state.services
    if token := request.cookies.get(SESSION_COOKIE):
        await services.log_out(token)
    response = Response(None, status_code=204)
    clear_session_cookie(response)
    return response


@get(
    "/api/v1/me",
    security=SIGNED_IN,
    tags=AUTH,
    summary="The signed-in account and its credit balance",
    responses=error_responses(401),
)
async def me(request: Request[Any, Any, Any], user: NamedDependency[User]) -> Account:
    services: Services = request.app.state.services
    return Account.of(user, await services.get_balance(user))


@get("/api/v1/auth/session", tags=AUTH, summary="Whether this browser is signed in, and as whom (never 401)")
async def session(request: Request[Any, Any, Any]) -> SessionState:
    try:
        user = await optional_user(request)
    except Unauthorized:  # an ended session: signed out, as far as the page is concerned
        user = None
    if user is None:
        return SessionState(signed_in=False, account=None)
    services: Services = request.app.state.services
    return SessionState(signed_in=True, account=Account.of(user, await services.get_balance(user)))
