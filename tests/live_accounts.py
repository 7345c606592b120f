"""Accounts on a server running on loopback, made the way a user makes them: sign up, then a key."""

from __future__ import annotations

import httpx

PASSWORD = "correct horse"


def new_api_key(base_url: str, email: str) -> str:
    """Sign ``email`` up (with the sign-up credits) and return a fresh API key of the account."""
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        signup = browser.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        created = browser.post(
            "/api/v1/api-keys", json={"name": "tests"}, headers={"X-CSRFToken": browser.cookies["csrftoken"]}
        )
        assert created.status_code == 201, created.text
        return created.json()["key"]
