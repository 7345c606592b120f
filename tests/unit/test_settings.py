"""Numbers in the environment: what each accepts, and the message when it does not."""

from __future__ import annotations

import pytest

from entrypoints.settings import Settings


def settings(**env: str) -> Settings:
    return Settings.from_env({"CUTOUT_SECRET_KEY": "test", **env})


def test_the_auth_cache_defaults_to_2_seconds_and_0_turns_it_off() -> None:
    assert settings().auth_cache_seconds == 2.0
    assert settings(CUTOUT_AUTH_CACHE_SECONDS="0").auth_cache_seconds == 0.0
    assert settings(CUTOUT_AUTH_CACHE_SECONDS="0.5").auth_cache_seconds == 0.5


@pytest.mark.parametrize("raw", ["-1", "3601", "soon", "nan"])
def test_auth_cache_seconds_out_of_range_stop_startup(raw: str) -> None:
    with pytest.raises(SystemExit, match="CUTOUT_AUTH_CACHE_SECONDS must be a number of seconds from 0 to 3600"):
        settings(CUTOUT_AUTH_CACHE_SECONDS=raw)


@pytest.mark.parametrize("raw", ["0", "-2", "a day", "nan"])
def test_retention_must_be_positive(raw: str) -> None:
    with pytest.raises(SystemExit, match="CUTOUT_RETENTION_HOURS must be a positive number"):
        settings(CUTOUT_RETENTION_HOURS=raw)


def test_the_abuse_limits_default_and_come_from_the_environment() -> None:
    defaults = settings()
    assert (
        defaults.signups_per_hour,
        defaults.logins_per_minute,
        defaults.max_api_keys,
        defaults.anonymous_previews_per_hour,
    ) == (5, 20, 20, 10)
    tuned = settings(
        CUTOUT_SIGNUPS_PER_HOUR="50",
        CUTOUT_LOGINS_PER_MINUTE="7",
        CUTOUT_MAX_API_KEYS="2",
        CUTOUT_ANONYMOUS_PREVIEWS_PER_HOUR="100",
    )
    assert (tuned.signups_per_hour, tuned.logins_per_minute, tuned.max_api_keys, tuned.anonymous_previews_per_hour) == (
        50,
        7,
        2,
        100,
    )


ABUSE_LIMITS = ["CUTOUT_SIGNUPS_PER_HOUR", "CUTOUT_LOGINS_PER_MINUTE", "CUTOUT_MAX_API_KEYS"]


@pytest.mark.parametrize("name", [*ABUSE_LIMITS, "CUTOUT_ANONYMOUS_PREVIEWS_PER_HOUR"])
@pytest.mark.parametrize("raw", ["0", "-1", "lots"])
def test_an_abuse_limit_below_one_stops_startup(name: str, raw: str) -> None:
    with pytest.raises(SystemExit, match=name):
        settings(**{name: raw})


def test_server_limits_have_defaults_and_read_their_variables() -> None:
    default = settings()
    assert (default.header_timeout_seconds, default.body_timeout_seconds) == (10.0, 30.0)
    assert (default.max_header_bytes, default.max_connections_per_address) == (32768, 32)
    chosen = settings(
        CUTOUT_HEADER_TIMEOUT_SECONDS="2.5",
        CUTOUT_BODY_TIMEOUT_SECONDS="60",
        CUTOUT_MAX_HEADER_BYTES="8192",
        CUTOUT_MAX_CONNECTIONS_PER_ADDRESS="0",
    )
    assert (chosen.header_timeout_seconds, chosen.body_timeout_seconds) == (2.5, 60.0)
    assert (chosen.max_header_bytes, chosen.max_connections_per_address) == (8192, 0)


@pytest.mark.parametrize("name", ["CUTOUT_HEADER_TIMEOUT_SECONDS", "CUTOUT_BODY_TIMEOUT_SECONDS"])
@pytest.mark.parametrize("raw", ["0", "-1", "3601", "soon"])
def test_server_timeouts_must_be_above_zero(name: str, raw: str) -> None:
    with pytest.raises(SystemExit, match=f"{name} must be a number of seconds above 0, at most 3600"):
        settings(**{name: raw})


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("CUTOUT_MAX_HEADER_BYTES", "1023", "must be at least 1024"),
        ("CUTOUT_MAX_HEADER_BYTES", "big", "must be a whole number"),
        ("CUTOUT_MAX_CONNECTIONS_PER_ADDRESS", "-1", "must be at least 0"),
    ],
)
def test_server_sizes_out_of_range_stop_startup(name: str, raw: str, message: str) -> None:
    with pytest.raises(SystemExit, match=f"{name} {message}"):
        settings(**{name: raw})
