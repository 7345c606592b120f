"""Every setting comes from an environment variable; the embedded defaults need none."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    database_url: str
    inference: str
    model_path: Path | None
    secret_key: str
    signup_credits: int
    public_url: str
    retention_hours: float
    worker_concurrency: int
    server_worker: bool
    job_lease_seconds: float
    storage_url: str
    s3_endpoint_url: str | None
    s3_region: str | None
    rate_limit_per_minute: int
    anonymous_rate_limit_per_minute: int
    anonymous_previews_per_hour: int
    signups_per_hour: int
    """Sign-ups per client address per hour."""
    logins_per_minute: int
    """Login attempts per client address per minute, whatever accounts they are for."""
    max_api_keys: int
    """Unrevoked API keys one account may hold."""
    auth_cache_seconds: float
    """How long a server trusts a caller and a balance it read (``RecentReads``); 0 never."""
    site_dir: Path
    """Where ``make site`` writes the Pelican build that the app serves at ``/``."""
    public_url_configured: bool = False  # set explicitly, so outside services (webhooks) may reach it
    replicate_api_token: str | None = None
    replicate_base_url: str | None = None
    replicate_model: str = "bria/remove-background"
    header_timeout_seconds: float = 10.0
    """How long a connection may take to send a request head (from connecting, or from the last answer)."""
    body_timeout_seconds: float = 30.0
    """How long a request body may pause between two bytes."""
    max_header_bytes: int = 32768
    max_connections_per_address: int = 32
    """Open connections one client address may hold; 0 lifts the cap (behind a reverse proxy)."""

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("CUTOUT_DATA_DIR", "./var")).resolve()
        model_path = env.get("CUTOUT_MODEL_PATH")
        return cls(
            host=env.get("CUTOUT_HOST", "127.0.0.1"),
            port=_int(env, "CUTOUT_PORT", 8000),
            data_dir=data_dir,
            database_url=env.get("CUTOUT_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'cutout.db'}",
            inference=env.get("CUTOUT_INFERENCE", "local"),
            model_path=Path(model_path) if model_path else None,
            secret_key=env.get("CUTOUT_SECRET_KEY") or _stored_secret(data_dir),
            signup_credits=_int(env, "CUTOUT_SIGNUP_CREDITS", 3),
            public_url=env.get("CUTOUT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            retention_hours=_positive(env, "CUTOUT_RETENTION_HOURS", 24.0),
            worker_concurrency=_int(env, "CUTOUT_WORKER_CONCURRENCY", 2),
            server_worker=_bool(env, "CUTOUT_SERVER_WORKER", True),
            job_lease_seconds=_positive(env, "CUTOUT_JOB_LEASE_SECONDS", 30.0),
            storage_url=_storage_url(env, data_dir),
            s3_endpoint_url=env.get("CUTOUT_S3_ENDPOINT_URL") or None,
            # botocore reads only AWS_DEFAULT_REGION; other AWS tools prefer AWS_REGION.
            s3_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            rate_limit_per_minute=_at_least_one(env, "CUTOUT_RATE_LIMIT_PER_MINUTE", 500),
            anonymous_rate_limit_per_minute=_at_least_one(env, "CUTOUT_ANONYMOUS_RATE_LIMIT_PER_MINUTE", 10),
            anonymous_previews_per_hour=_at_least_one(env, "CUTOUT_ANONYMOUS_PREVIEWS_PER_HOUR", 10),
            signups_per_hour=_at_least_one(env, "CUTOUT_SIGNUPS_PER_HOUR", 5),
            logins_per_minute=_at_least_one(env, "CUTOUT_LOGINS_PER_MINUTE", 20),
            max_api_keys=_at_least_one(env, "CUTOUT_MAX_API_KEYS", 20),
            auth_cache_seconds=_seconds(env, "CUTOUT_AUTH_CACHE_SECONDS", 2.0),
            site_dir=Path(env.get("CUTOUT_SITE_DIR", "./build/site")).resolve(),
            public_url_configured=bool(env.get("CUTOUT_PUBLIC_URL")),
            replicate_api_token=env.get("REPLICATE_API_TOKEN") or None,
            replicate_base_url=env.get("REPLICATE_BASE_URL") or None,
            replicate_model=env.get("CUTOUT_REPLICATE_MODEL") or "bria/remove-background",
            header_timeout_seconds=_seconds_above_zero(env, "CUTOUT_HEADER_TIMEOUT_SECONDS", 10.0),
            body_timeout_seconds=_seconds_above_zero(env, "CUTOUT_BODY_TIMEOUT_SECONDS", 30.0),
            max_header_bytes=_at_least(env, "CUTOUT_MAX_HEADER_BYTES", 32768, 1024),
            max_connections_per_address=_at_least(env, "CUTOUT_MAX_CONNECTIONS_PER_ADDRESS", 32, 0),
        )


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


def _positive(env: dict[str, str], name: str, default: float) -> float:
    return _number(env, name, default, lambda value: value > 0, "a positive number")


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    return _number(env, name, default, lambda value: 0 <= value <= 3600, "a number of seconds from 0 to 3600")


def _number(env: dict[str, str], name: str, default: float, accept: Callable[[float], bool], expected: str) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan  # accepted by no rule
    if not accept(value):
        raise SystemExit(f"{name} must be {expected}, not {raw!r}")
    return value


def _seconds_above_zero(env: dict[str, str], name: str, default: float) -> float:
    return _number(env, name, default, lambda value: 0 < value <= 3600, "a number of seconds above 0, at most 3600")


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be true or false, not {raw!r}")


def _storage_url(env: dict[str, str], data_dir: Path) -> str:
    url = env.get("CUTOUT_STORAGE_URL") or (data_dir / "blobs").as_uri()
    parts = urlsplit(url)
    if (parts.scheme == "file" and not parts.netloc and parts.path) or (parts.scheme == "s3" and parts.netloc):
        return url
    raise SystemExit(f"CUTOUT_STORAGE_URL must be file:///absolute/directory or s3://bucket/prefix, not {url!r}")


def _at_least_one(env: dict[str, str], name: str, default: int) -> int:
    return _at_least(env, name, default, 1)


def _at_least(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    value = _int(env, name, default)
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}")
    return value


def _stored_secret(data_dir: Path) -> str:
    """The embedded default: a secret generated once and kept in the data directory."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        if not path.read_text():
            path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()
