from __future__ import annotations

import pytest
from fakes import FakeClock, FakeFetcher, FakeHasher, FakeImaging, FakeRemover, FakeUnitOfWorkFactory


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hasher() -> FakeHasher:
    return FakeHasher()


@pytest.fixture
def imaging() -> FakeImaging:
    return FakeImaging()


@pytest.fixture
def remover() -> FakeRemover:
    return FakeRemover()


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()
