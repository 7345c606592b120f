"""Choosing Replicate: its settings, the model table, and a startup that stops on a missing token."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.replicate_models import DEFAULT_MODEL, MODELS, OutputKind, resolve
from adapters.replicate_remover import ReplicateRemover
from entrypoints.bootstrap import build_adapters
from entrypoints.settings import Settings


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"CUTOUT_DATA_DIR": str(tmp_path), "CUTOUT_SECRET_KEY": "s", **env})


def test_replicate_settings_and_their_defaults(tmp_path: Path) -> None:
    default = settings(tmp_path)
    assert (default.replicate_api_token, default.replicate_base_url) == (None, None)
    assert default.replicate_model == DEFAULT_MODEL == "bria/remove-background"
    assert not default.public_url_configured and default.public_url == "http://127.0.0.1:8000"
    chosen = settings(
        tmp_path,
        REPLICATE_API_TOKEN="r8_x",
        REPLICATE_BASE_URL="http://127.0.0.1:9999",
        CUTOUT_REPLICATE_MODEL="851-labs/background-remover",
        CUTOUT_PUBLIC_URL="https://cutout.example/",
    )
    assert (chosen.replicate_api_token, chosen.replicate_base_url) == ("r8_x", "http://127.0.0.1:9999")
    assert chosen.replicate_model == "851-labs/background-remover"
    assert chosen.public_url_configured and chosen.public_url == "https://cutout.example"


def test_every_model_row_says_how_to_call_it_and_read_it() -> None:
    assert len(MODELS) >= 3
    assert {row.output for row in MODELS.values()} == {OutputKind.CUTOUT, OutputKind.MASK}
    assert MODELS["851-labs/background-remover"].input("data:x") == {
        "image": "data:x",
        "background_type": "map",
        "format": "png",
    }
    assert resolve("lucataco/remove-bg:abc123").version == "abc123"
    assert resolve("bria/remove-background").version is None  # an official model runs by name
    with pytest.raises(ValueError, match="851-labs/background-remover"):
        resolve("someone/unknown-model")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "REPLICATE_API_TOKEN"),
        ({"REPLICATE_API_TOKEN": "r8_x", "CUTOUT_REPLICATE_MODEL": "someone/else"}, "CUTOUT_REPLICATE_MODEL"),
        ({"CUTOUT_INFERENCE": "cloud9"}, "'local' or 'replicate'"),
    ],
)
def test_startup_stops_with_a_clear_message(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        build_adapters(settings(tmp_path, **{"CUTOUT_INFERENCE": "replicate", **env}))


@pytest.mark.parametrize(
    ("env", "uses_blob_links"),
    [
        ({}, False),  # a disk store's links would point at the loopback default: send inputs inline
        ({"CUTOUT_PUBLIC_URL": "https://cutout.example"}, True),
        ({"CUTOUT_STORAGE_URL": "s3://bucket/cutout", "CUTOUT_S3_ENDPOINT_URL": "http://127.0.0.1:9"}, True),
    ],
)
async def test_large_inputs_use_blob_links_only_where_replicate_can_fetch_them(
    tmp_path: Path, env: dict[str, str], uses_blob_links: bool
) -> None:
    adapters = build_adapters(settings(tmp_path, CUTOUT_INFERENCE="replicate", REPLICATE_API_TOKEN="r8_x", **env))
    try:
        assert set(adapters.checks) == {"database", "replicate", "storage"} and adapters.webhooks is not None
        remover = adapters.remover
        assert isinstance(remover, ReplicateRemover)
        assert (remover.blobs is adapters.blob_store) is uses_blob_links
        expected_hook = "https://cutout.example/api/v1/webhooks/replicate" if "CUTOUT_PUBLIC_URL" in env else None
        assert remover.webhook_url == expected_hook
    finally:
        await adapters.aclose()
