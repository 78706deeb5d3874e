"""schemathesis against the server's own OpenAPI document, in process, signed in.

Checks: no 5xx, every status code and content type documented, every response body matching its
schema (problem+json included) — and, through the suite's ERROR-log guard, no unhandled exception in
the server log during the run. Bounded (``MAX_EXAMPLES`` per operation) to keep the suite short.
Back-office operations are called as ``admin``, the others as an HR clerk at counter 01.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from central.app import create_app
from central.core.config import Settings
from central.core.db import Database
from counter_app.domain.card_lifecycle import SocialStatus
from tests.central.helpers import Api, AuthedClient, FakeClock
from tests.central.test_access_matrix import MATRIX, admin_only

MAX_EXAMPLES = 25
ADMIN_DESK = ("ADMIN01", None, None)
HR_DESK = ("HR0101", "511102001", "01")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_target(central_url: str) -> Iterator[tuple[object, AuthedClient]]:
    settings_ = Settings(database_url=central_url, expiry_sweep_seconds=0, sign_in_limit=100_000)
    app = create_app(settings_, clock=FakeClock())
    with TestClient(app) as client:
        api = Api(client, Database(central_url), FakeClock())
        person = api.person()  # something for the lookups to find
        api.card(person["id"], SocialStatus.ACTIVE)
        yield app, api.client
        api.db.dispose()


def test_the_api_keeps_its_openapi_contract(fuzz_target: tuple[object, AuthedClient]) -> None:
    app, client = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35

    for operation in operations:
        entry = MATRIX.get((operation.method.upper(), operation.path))
        desk = ADMIN_DESK if entry is not None and entry.expect is admin_only else HR_DESK
        try:
            _exercise(operation, client, desk)()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)


def _exercise(operation: Any, client: AuthedClient, desk: tuple[str, str | None, str | None]) -> Any:
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def exercise(case: schemathesis.Case) -> None:
        fresh = case.path == "/auth/sign-out"  # signing out must not end the token the run uses
        generated = {
            k: v
            for k, v in (case.headers or {}).items()
            if k.lower() not in ("authorization", "x-counter-key", "x-confirmer-token")
        }
        headers = {**generated, **client.headers(desk, fresh=fresh)}
        response = case.call(headers=headers)
        if fresh:
            client.headers(desk, fresh=True)
        case.validate_response(response, checks=CHECKS)

    return exercise
