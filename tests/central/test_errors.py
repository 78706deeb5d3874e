"""An unhandled exception is a 500 problem with a reference, logged once with context."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from central.app import create_app
from central.core.config import Settings
from tests.central.helpers import assert_problem


@pytest.mark.expected_server_errors
def test_unhandled_exception_is_a_500_problem_with_reference(
    settings: Settings, server_errors: list[logging.LogRecord]
) -> None:
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaputt")

    with TestClient(app) as client:
        response = client.get("/boom")
    problem = assert_problem(response, 500, "internal")
    reference = problem["reference"]
    assert reference in problem["detail"]
    assert len(server_errors) == 1
    record = server_errors[0]
    assert record.name == "central.errors" and reference in record.getMessage()
    assert "GET /boom (not signed in)" in record.getMessage() and record.exc_info is not None
