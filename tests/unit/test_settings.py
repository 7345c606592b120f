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
