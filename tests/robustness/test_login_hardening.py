"""Attacks on sign-up and login through the real app, on SQLite and MariaDB (issue #16, findings 2 and 3).

- Oversized text: every free-text field is bounded at the edge (422 ``field_too_long``; a body far past
  any field's bound is 413), never stored, hashed or kept in memory; a 17 MB e-mail was a 500 on MariaDB
  and, on any database, a failed login the throttle kept in memory for good.
- The login throttle lives in the database: two server processes (two apps, two engines) share one count.
- One spelling of an address: ``ADA@``, fullwidth ``ａｄａ@`` and ``ada@`` are one account and one lock;
  ``ádá@`` is another address (MariaDB's default collation made it the same account, with a lock of its own).
- ``Idempotency-Key`` is exact: two keys differing in case are two jobs (MariaDB compared them loosely).
"""

from __future__ import annotations

from pathlib import Path

import httpx
from images import encode, person_scene
from robustness.accounts_app import PASSWORD, app_client, csrf, database_url, login, new_key, signed_up
from sqlalchemy import column, func, select, table

from adapters.sql.engine import create_engine
from domain.throttle import FREE_ATTEMPTS

__all__ = ["database_url"]  # the fixture


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


async def test_oversized_fields_are_refused_at_the_edge(database_url: str, tmp_path: Path) -> None:
    async with app_client(database_url, tmp_path) as client:
        huge = await login(client, "a" * 17_000_000 + "@example.com", "whatever password")
        assert huge.status_code == 413, huge.text[:300]
        long_email = "a" * 250 + "@example.com"
        for route in ("/api/v1/auth/login", "/api/v1/auth/signup"):
            response = await client.post(route, json={"email": long_email, "password": PASSWORD})
            assert (response.status_code, error_code(response)) == (422, "field_too_long"), response.text
            assert response.json()["error"]["details"] == {"field": "email", "max_length": 254}
            response = await client.post(route, json={"email": "ada@example.com", "password": "p" * 1025})
            assert (response.status_code, error_code(response)) == (422, "field_too_long")
            assert response.json()["error"]["details"]["field"] == "password"

        await signed_up(client, "ada@example.com")
        named = await new_key(client, "n" * 101)
        assert (named.status_code, error_code(named)) == (422, "field_too_long"), named.text
        contact = {"name": "Ada", "email": "ada@example.com", "message": "m" * 5001}
        sent = await client.post("/api/v1/contact", json=contact, headers=csrf(client))
        assert (sent.status_code, error_code(sent)) == (422, "field_too_long")
        cut = await client.post(
            "/api/v1/removebg", data={"image_url": "https://example.com/" + "a" * 5000}, headers=csrf(client)
        )
        assert (cut.status_code, error_code(cut)) == (422, "field_too_long"), cut.text
        assert cut.json()["error"]["details"]["field"] == "image_url"
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            attempts = table("login_attempts", column("key"))
            lengths = (await connection.execute(select(func.max(func.length(attempts.c.key))))).scalar()
        assert lengths in (None, 64)  # what a failed login leaves behind is a fixed-size digest
    finally:
        await engine.dispose()


async def test_two_server_processes_share_one_login_throttle(database_url: str, tmp_path: Path) -> None:
    async with app_client(database_url, tmp_path / "a") as first, app_client(database_url, tmp_path / "b") as second:
        await signed_up(first, "ada@example.com")
        first.cookies.clear()
        statuses = [
            (await login((first, second)[i % 2], "ada@example.com", "wrong password")).status_code
            for i in range(FREE_ATTEMPTS + 1)
        ]
        assert statuses == [401] * (FREE_ATTEMPTS + 1)
        for client in (first, second):
            locked = await login(client, "ada@example.com", PASSWORD)
            assert (locked.status_code, error_code(locked)) == (429, "too_many_attempts")
            assert int(locked.headers["retry-after"]) >= 1


async def test_a_variant_spelling_neither_logs_in_nor_escapes_the_lock(database_url: str, tmp_path: Path) -> None:
    async with app_client(database_url, tmp_path) as client:
        await signed_up(client, "victim@example.com")
        client.cookies.clear()
        taken = await client.post(
            "/api/v1/auth/signup", json={"email": "ＶＩＣＴＩＭ@example.com", "password": PASSWORD}
        )
        assert (taken.status_code, error_code(taken)) == (409, "email_taken")  # fullwidth and case: one address
        for _ in range(FREE_ATTEMPTS + 1):
            assert (await login(client, "victim@example.com", "wrong password")).status_code == 401
        for variant in ("VICTIM@example.com", "ｖｉｃｔｉｍ@example.com", " Victim@Example.com "):
            response = await login(client, variant, PASSWORD)
            assert (response.status_code, error_code(response)) == (429, "too_many_attempts"), variant
        accented = await login(client, "vïctim@example.com", PASSWORD)  # another address: no such account
        assert (accented.status_code, error_code(accented)) == (401, "invalid_credentials")
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_an_accented_address_is_an_account_of_its_own(database_url: str, tmp_path: Path) -> None:
    async with app_client(database_url, tmp_path) as client:
        plain = await signed_up(client, "ada@example.com")
        client.cookies.clear()
        accented = await signed_up(client, "ádá@example.com", "another password")
        assert accented["id"] != plain["id"] and accented["email"] == "ádá@example.com"
        client.cookies.clear()
        assert (await login(client, "ádá@example.com", PASSWORD)).status_code == 401
        me = await login(client, "ADA@example.com", PASSWORD)
        assert me.status_code == 200 and me.json()["id"] == plain["id"]


async def test_idempotency_keys_that_differ_in_case_are_two_jobs(database_url: str, tmp_path: Path) -> None:
    photo = encode(person_scene(320, 240)[0])
    async with app_client(database_url, tmp_path) as client:
        await signed_up(client, "ada@example.com")
        key = (await new_key(client)).json()["key"]
        client.cookies.clear()
        ids = []
        for idempotency_key in ("Job-1", "job-1", "Job-1"):
            response = await client.post(
                "/api/v1/jobs",
                files={"image_file": ("p.jpg", photo)},
                headers={"X-Api-Key": key, "Idempotency-Key": idempotency_key},
            )
            assert response.status_code in (200, 202), response.text
            ids.append(response.json()["id"])
    assert ids[0] != ids[1] and ids[2] == ids[0]
