"""Sign-up, login, logout and the signed-in account."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from domain.errors import Unauthorized
from domain.use_cases.accounts import Authenticate, LogIn, LogOut, SignUp, StartSession
from domain.use_cases.credits import GetBalance
from domain.users import User
from entrypoints.http.auth import (
    SESSION_COOKIE,
    SIGNED_IN,
    clear_session_cookie,
    client_ip,
    hand_out_csrf_cookie,
    optional_user,
    set_session_cookie,
)
from entrypoints.http.injected import Injected
from entrypoints.http.route_docs import rules_of
from entrypoints.http.schemas import SMALL_BODY_BYTES, Account, Credentials, SessionState, error_responses
from entrypoints.settings import Settings


def _signed_in(
    request: Request[Any, Any, Any], account: Account, token: str, status: int, settings: Settings, csrf: CSRFConfig
) -> Response[Account]:
    response = Response(account, status_code=status)
    set_session_cookie(response, token, settings.secure_cookies)
    hand_out_csrf_cookie(request, response, csrf)
    return response


class AccountsController(Controller):
    """The account routes: anyone may sign up, log in and ask about the session; ``/me`` needs a caller."""

    path = "/api/v1"
    tags = ["auth"]

    @post(
        "/auth/signup",
        request_max_body_size=SMALL_BODY_BYTES,
        summary="Create an account and sign in",
        description=rules_of(SignUp),
        status_code=201,
        responses=error_responses(400, 409, 413, 422, 429),
    )
    async def sign_up(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Credentials],
        sign_up: Injected[SignUp],
        start_session: Injected[StartSession],
        get_balance: Injected[GetBalance],
        settings: Injected[Settings],
        csrf_config: Injected[CSRFConfig],
    ) -> Response[Account]:
        user = await sign_up(data.email, data.password, client_ip(request))
        token = await start_session(user)
        return _signed_in(request, Account.of(user, await get_balance(user)), token, 201, settings, csrf_config)

    @post(
        "/auth/login",
        request_max_body_size=SMALL_BODY_BYTES,
        summary="Sign in with email and password",
        description=rules_of(LogIn),
        status_code=200,
        responses=error_responses(400, 401, 413, 422, 429),
    )
    async def log_in(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Credentials],
        log_in: Injected[LogIn],
        get_balance: Injected[GetBalance],
        settings: Injected[Settings],
        csrf_config: Injected[CSRFConfig],
    ) -> Response[Account]:
        user, token = await log_in(data.email, data.password, client_ip(request))
        return _signed_in(request, Account.of(user, await get_balance(user)), token, 200, settings, csrf_config)

    @post(
        "/auth/logout",
        summary="End this browser session",
        description=rules_of(LogOut),
        status_code=204,
        # Litestar documents a JSON body for Response[None]; a 204 has none.
        responses={204: ResponseSpec(None, description="Signed out"), **error_responses(403)},
    )
    async def log_out(self, request: Request[Any, Any, Any], log_out: Injected[LogOut]) -> Response[None]:
        if token := request.cookies.get(SESSION_COOKIE):
            await log_out(token)
        response = Response(None, status_code=204)
        clear_session_cookie(response)
        return response

    @get(
        "/me",
        security=SIGNED_IN,
        summary="The signed-in account and its credit balance",
        description=rules_of(GetBalance),
        responses=error_responses(401),
    )
    async def me(self, user: NamedDependency[User], get_balance: Injected[GetBalance]) -> Account:
        return Account.of(user, await get_balance(user))

    @get(
        "/auth/session",
        summary="Whether this browser is signed in, and as whom (never 401)",
        description=rules_of(Authenticate),
    )
    async def session(
        self,
        request: Request[Any, Any, Any],
        authenticate: Injected[Authenticate],
        get_balance: Injected[GetBalance],
    ) -> SessionState:
        try:
            user = await optional_user(request, authenticate)
        except Unauthorized:  # an ended session: signed out, as far as the page is concerned
            user = None
        if user is None:
            return SessionState(signed_in=False, account=None)
        return SessionState(signed_in=True, account=Account.of(user, await get_balance(user)))
