"""Logging is configured once per process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from counter_app import logs


@pytest.fixture
def fresh_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    root = logging.getLogger()
    before = list(root.handlers)
    monkeypatch.setattr(logs, "_configured", None)
    yield
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()


@pytest.mark.usefixtures("fresh_logging")
def test_second_configuration_adds_no_handlers_and_keeps_the_first_file(tmp_path: Path) -> None:
    first = logs.configure_logging(tmp_path / "a")
    handlers = len(logging.getLogger().handlers)
    second = logs.configure_logging(tmp_path / "b")
    assert first == second == tmp_path / "a" / "counter-app.log"
    assert len(logging.getLogger().handlers) == handlers
    logging.getLogger("counter_app.test").info("一条中文日志")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "一条中文日志" in first.read_text(encoding="utf-8")
    assert not (tmp_path / "b").exists()


@pytest.mark.usefixtures("fresh_logging")
def test_apdu_trace_is_off_unless_asked_for(tmp_path: Path) -> None:
    logs.configure_logging(tmp_path)
    assert not logging.getLogger(logs.APDU_LOGGER).isEnabledFor(logging.DEBUG)
