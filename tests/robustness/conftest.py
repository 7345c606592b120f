"""Fixtures of the robustness suite."""

from collections.abc import Iterator

import pytest
from contract.conftest import mysql_database  # noqa: F401 - the per-module MariaDB database of the contract tests
from images import encode, person_scene
from robustness.job_flows import any_database  # noqa: F401 - the real app's database: SQLite, then MariaDB
from robustness.ssrf import SsrfNetwork, public_server


@pytest.fixture
def ssrf_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[SsrfNetwork]:
    """The stand-in network of the SSRF matrix, with a public server serving a photo as /image.jpg."""
    with public_server(encode(person_scene(640, 480)[0])) as port:
        yield SsrfNetwork(monkeypatch, port)
