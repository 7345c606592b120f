"""Schemathesis against /schema/openapi.json: generated requests, authenticated with an API key, sent over
real HTTP to the app on MariaDB. No answer may be a 5xx, and every answer must match the document:
status code, content type, headers and body schema. Invalid requests (negative mode) must be refused.
Then linked calls (schemathesis' stateful testing, links inferred from the schema): a created key is used
and revoked, and every other inferred link (the jobs') is followed, under the same checks."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from api.conftest import make_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from live_accounts import new_api_key
from robustness.live_server import serve_in_thread
from robustness.real_app import migrated, real_adapters
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.generation.stateful.state_machine import APIStateMachine
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entrypoints.http.app import create_app

pytestmark = pytest.mark.mysql

EXAMPLES_PER_OPERATION_AND_MODE = 50
MIN_CASES = 500
# Not `positive_data_acceptance`: a schema cannot say "a decodable photo", "a CSS colour name" or "an unused
# email", so schema-valid requests can be refused for such reasons, always with a documented 4xx.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def server(mysql_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    asyncio.run(migrated(mysql_database))
    app = create_app(make_settings(tmp_path_factory.mktemp("var")), real_adapters(mysql_database))
    with serve_in_thread(app) as base:
        yield base


@pytest.fixture(scope="module")
def api_keys(server: str) -> tuple[str, str]:
    """One account per test, both signed up before any fuzzing can use up the address's sign-ups;
    the stateful test's own, since the other may leave its account at the cap of live keys."""
    return new_api_key(server, "fuzz@example.com"), new_api_key(server, "stateful-fuzz@example.com")


def test_generated_requests_get_no_server_error_and_answers_match_the_schema(
    server: str, api_keys: tuple[str, str]
) -> None:
    api_key = api_keys[0]
    schema = schemathesis.openapi.from_url(f"{server}/schema/openapi.json")
    cases: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                cases[case.operation.label] += 1
                case.call_and_validate(headers={"X-Api-Key": api_key}, checks=CHECKS, timeout=30)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as error:  # the checks raise a BaseExceptionGroup
                failures[f"{operation.label} ({mode.value})"] = str(error)

    assert not failures, "\n\n".join(f"== {name}\n{text}" for name, text in failures.items())
    assert sum(cases.values()) >= MIN_CASES, cases
    assert set(cases) >= {"POST /api/v1/removebg", "GET /api/v1/me", "POST /api/v1/api-keys"}


STATEFUL = settings(
    max_examples=8,
    stateful_step_count=6,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
"""At most 48 linked calls per machine: enough to chain create -> use -> revoke, bounded in time."""


def stateful_machine(
    schema: schemathesis.BaseSchema, server: str, api_key: str, chains: Counter[str]
) -> type[APIStateMachine]:
    """Schemathesis' state machine over ``schema`` (its links inferred from the response schemas and
    path parameters, e.g. ``POST /api/v1/api-keys`` -> ``DELETE /api/v1/api-keys/{key_id}``), calling
    with ``api_key``. Every key it creates is used at once (``GET /api/v1/me`` is 200), and once it is
    revoked it no longer works (401)."""
    base = schema.as_state_machine()
    created: dict[str, str] = {}

    def me(key: str) -> int:
        return httpx.get(f"{server}/api/v1/me", headers={"X-Api-Key": key}, timeout=30).status_code

    class Machine(base):  # type: ignore[misc, valid-type]  # a base made at run time
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"headers": {"X-Api-Key": api_key}, "timeout": 30}

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            label = case.operation.label
            if label == "POST /api/v1/api-keys" and response.status_code == 201:
                body = response.json()
                assert me(body["key"]) == 200, "a new key does not work"
                created[body["id"]] = body["key"]
                chains["created and used"] += 1
            elif label == "DELETE /api/v1/api-keys/{key_id}" and response.status_code == 204:
                key = created.pop(str((case.path_parameters or {})["key_id"]), None)
                if key is not None:
                    assert me(key) == 401, "a revoked key still works"
                    chains["revoked"] += 1

        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case, **kwargs: object) -> None:
            case.validate_response(response, checks=CHECKS)

    return Machine


def test_linked_calls_create_use_and_revoke_keys_without_a_server_error(server: str, api_keys: tuple[str, str]) -> None:
    api_key = api_keys[1]
    schema = schemathesis.openapi.from_url(f"{server}/schema/openapi.json")
    chains: Counter[str] = Counter()
    keys = schema.include(path_regex="^/api/v1/(api-keys|me)")  # few rules: the chain is sure to come up
    stateful_machine(keys, server, api_key, chains).run(settings=STATEFUL)
    stateful_machine(schema, server, api_key, Counter()).run(settings=STATEFUL)  # every inferred link
    assert chains["created and used"] >= 1 and chains["revoked"] >= 1, chains
