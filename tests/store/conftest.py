"""Fixtures of the store tests: an in-memory keyring, a store on a temporary file, sample records."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import keyring
import pytest

from counter_app.store import Store, database_path
from counter_app.workflows.ports import TransactionRecord
from tests.fakes import FakeClock
from tests.store.memory_keyring import MemoryKeyring, holding

OUTLET = "511102001"
COUNTER = "03"
DAY = date(2026, 11, 27)


def resident_id(region: str, born: date, sequence: str) -> str:
    """A 公民身份号码 with a correct GB 11643 check character."""
    body = f"{region}{born:%Y%m%d}{sequence}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


CANARY_ID_NUMBER = resident_id("511102", date(1987, 6, 23), "427")
CANARY_NAME = "金丝燕"
CANARY_PHONE = "13812345678"
CANARY_ADDRESS = "四川省乐山市市中区嘉定北路甲77号"


def make_record(
    acceptance_number: str,
    *,
    holder_ref: str = "p1",
    command: str | None = "report_loss",
    details: Mapping[str, Any] | None = None,
    payload: Mapping[str, Any] | None = None,
    minutes: int = 0,
) -> TransactionRecord:
    return TransactionRecord(
        acceptance_number=acceptance_number,
        item_code="report_loss",
        operator_number="1001",
        outlet_code=OUTLET,
        counter_number=COUNTER,
        occurred_at=FakeClock().now() + timedelta(minutes=minutes),
        holder_ref=holder_ref,
        result="accepted",
        details=details or {"kind": "temporary"},
        server_command=command,
        server_payload=payload or ({"card_number": "X00000019", "kind": "temporary"} if command else {}),
    )


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every store test runs with an empty keyring in memory, restored afterwards."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def shared_secret(memory_keyring: MemoryKeyring) -> tuple[bytes, dict[str, str]]:
    """A master secret in this process's keyring and in the environment for child processes."""
    secret = os.urandom(32)
    memory_keyring.items.update(holding(secret).items)
    env = {**os.environ, "STORE_TEST_SECRET": base64.b64encode(secret).decode()}
    return secret, env


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return database_path(tmp_path / "store-data")


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    opened = Store.open(store_path, clock=FakeClock())
    yield opened
    opened.close()
