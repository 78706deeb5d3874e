"""Pytest side of the harness: a test asks for a service and gets how to reach it, or fails.

Under ``make test`` the runner has started every service and exported how to reach it. When a
developer runs pytest directly, the first test that needs a service starts it for the session.
A service that cannot start makes the tests that need it fail, never skip.
"""

from __future__ import annotations

import os

import pytest

from tests.harness.services import SERVICES, Service, ServiceFailed, failed_env_var, started_env_var


class ServiceBroker:
    """Hands out services for one pytest session; stops the ones it started itself."""

    def __init__(self) -> None:
        self._own: dict[str, Service] = {}
        self._env: dict[str, dict[str, str]] = {}

    def require(self, name: str) -> dict[str, str]:
        failed = os.environ.get(failed_env_var(name))
        if failed:
            pytest.fail(f"{name} could not be started by the test harness: {failed}", pytrace=False)
        if name in self._env:
            return self._env[name]
        service = SERVICES[name]()
        if os.environ.get(started_env_var(name)):
            env = {k: v for k, v in os.environ.items() if k.startswith("COUNTER_TEST_")}
        else:
            try:
                env = service.start()
            except ServiceFailed as exc:
                os.environ[failed_env_var(name)] = str(exc)
                pytest.fail(f"{name} could not be started: {exc}", pytrace=False)
            self._own[name] = service
        self._env[name] = env
        return env

    def close(self) -> None:
        for service in reversed(list(self._own.values())):
            service.stop()
        self._own.clear()
