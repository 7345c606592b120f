from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from api.conftest import PASSWORD, api_key, csrf, sign_up


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["requestId"] == response.headers["x-request-id"]
    return body["error"]


async def test_sign_up_signs_in_with_a_safe_cookie_and_three_credits(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/api/v1/auth/signup", json={"email": "Ada@Example.com", "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com" and body["credits"] == 3 and body["id"]
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("cutout_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert "csrftoken" in client.cookies
    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["credits"] == 3 and me.json()["id"] == body["id"]


async def test_secure_cookies_when_served_over_https(tmp_path: Any, adapters: Any) -> None:
    from api.conftest import make_settings
    from entrypoints.http.app import create_app

    app = create_app(make_settings(tmp_path, CUTOUT_PUBLIC_URL="https://cutout.example"), adapters)
    async with AsyncTestClient(app) as client:
        response = await client.post("/api/v1/auth/signup", json={"email": "a@example.com", "password": PASSWORD})
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("cutout_session="))
    assert "Secure" in cookie


async def test_me_needs_a_session_or_key(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert (await client.get("/api/v1/me", headers={"X-Api-Key": "co_nope"})).status_code == 401
    client.cookies.set("cutout_session", "forged")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_sign_up_errors_have_stable_codes(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    client.cookies.clear()
    cases = [
        ({"email": "ada@example.com", "password": PASSWORD}, 409, "email_taken"),
        ({"email": "nope", "password": PASSWORD}, 422, "invalid_email"),
        ({"email": "b@example.com", "password": "short"}, 422, "weak_password"),
        ({"email": "b@example.com"}, 400, "invalid_request"),
    ]
    for body, status, code in cases:
        response = await client.post("/api/v1/auth/signup", json=body)
        assert (response.status_code, error_of(response)["code"]) == (status, code), body
    response = await client.post(
        "/api/v1/auth/signup", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


async def test_wrong_password_and_unknown_email_answer_the_same(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    client.cookies.clear()
    answers = []
    for email in ("ada@example.com", "nobody@example.com"):
        response = await client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password"})
        body = response.json()
        answers.append((response.status_code, body["error"]))
    assert (
        answers[0]
        == answers[1]
        == (401, {"code": "invalid_credentials", "message": "Wrong email or password.", "details": {}})
    )


async def test_login_changes_the_session_and_logout_ends_it(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    first = client.cookies["cutout_session"]
    response = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}, headers=csrf(client)
    )
    assert response.status_code == 200 and response.json()["credits"] == 3
    second = client.cookies["cutout_session"]
    assert second != first
    assert (await client.post("/api/v1/auth/logout", headers=csrf(client))).status_code == 204
    assert "cutout_session" not in client.cookies
    client.cookies.set("cutout_session", second)
    assert (await client.get("/api/v1/me")).status_code == 401
    client.cookies.set("cutout_session", first)
    assert (await client.get("/api/v1/me")).status_code == 200  # the sign-up's session is another one


async def test_login_is_throttled_with_retry_after(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    client.cookies.clear()
    statuses = []
    for _ in range(7):
        response = await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "nope nope"})
        statuses.append(response.status_code)
    assert statuses[:6] == [401] * 6 and statuses[6] == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "too_many_attempts"


async def test_cookie_requests_need_the_csrf_header(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    response = await client.post("/api/v1/api-keys", json={"name": "laptop"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "csrf_failed"
    response = await client.post("/api/v1/api-keys", json={"name": "laptop"}, headers={"X-CSRFToken": "forged"})
    assert response.status_code == 403
    response = await client.post("/api/v1/api-keys", json={"name": "laptop"}, headers=csrf(client))
    assert response.status_code == 201


async def test_api_keys_lifecycle(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    created = await client.post("/api/v1/api-keys", json={"name": "laptop"}, headers=csrf(client))
    body = created.json()
    secret, key_id = body["key"], body["id"]
    assert secret.startswith(body["prefix"]) and len(secret) >= 40
    listed = (await client.get("/api/v1/api-keys")).json()["data"]
    assert [k["name"] for k in listed] == ["laptop"] and "key" not in listed[0]
    assert secret not in (await client.get("/api/v1/api-keys")).text
    client.cookies.clear()
    for header in ({"X-Api-Key": secret}, {"Authorization": f"Bearer {secret}"}):
        me = await client.get("/api/v1/me", headers=header)
        assert me.status_code == 200 and me.json()["email"] == "ada@example.com"
    # A key needs no CSRF token, even for unsafe methods.
    another = await client.post("/api/v1/api-keys", json={"name": "ci"}, headers={"X-Api-Key": secret})
    assert another.status_code == 201
    assert (await client.delete(f"/api/v1/api-keys/{key_id}", headers={"X-Api-Key": secret})).status_code == 204
    assert (await client.get("/api/v1/me", headers={"X-Api-Key": secret})).status_code == 401
    assert (await client.get("/api/v1/me", headers={"X-Api-Key": another.json()["key"]})).status_code == 200


async def test_another_users_key_is_not_found(client: AsyncTestClient[Any]) -> None:
    ada = await api_key(client, "ada@example.com")
    bob = await api_key(client, "bob@example.com")
    ada_keys = (await client.get("/api/v1/api-keys", headers={"X-Api-Key": ada})).json()["data"]
    response = await client.delete(f"/api/v1/api-keys/{ada_keys[0]['id']}", headers={"X-Api-Key": bob})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await client.get("/api/v1/me", headers={"X-Api-Key": ada})).status_code == 200


async def test_credits_statement(client: AsyncTestClient[Any]) -> None:
    key = await api_key(client)
    body = (await client.get("/api/v1/credits", headers={"X-Api-Key": key})).json()
    assert body["balance"] == 3 and body["total"] == 1
    assert body["entries"][0]["kind"] == "signup_grant" and body["entries"][0]["delta"] == 3
    for query in ("limit=0", "offset=-1", "offset=36893488147419103232"):  # the last overflowed MySQL's OFFSET
        bad = await client.get(f"/api/v1/credits?{query}", headers={"X-Api-Key": key})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request", query


async def test_unknown_route_and_method(client: AsyncTestClient[Any]) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = await client.get("/api/v1/auth/login")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
