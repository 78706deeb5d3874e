"""The one-card indexes hold under concurrent ``apply`` requests to a real multi-worker server."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from central.core.db import Database
from central.models import CardRow, PersonRow
from counter_app.domain.card_lifecycle import PIPELINE_STATES
from counter_app.domain.receipt_code import format_acceptance_number
from tests.central.conftest import prepare
from tests.central.helpers import counter_credential, id_number, sign_in
from tests.central.server import running_server

pytestmark = pytest.mark.integration

ROUNDS = 12
DESKS = (("HR0101", "01"), ("HR0102", "02"))


def _apply_twice(
    base: str, person: dict[str, Any], round_no: int, tokens: dict[str, str]
) -> list[requests.Response]:
    """Two counters send ``apply`` for the same person at the same moment."""
    barrier = threading.Barrier(2)
    results: list[requests.Response] = []
    lock = threading.Lock()

    def desk(operator: str, counter: str) -> None:
        number = format_acceptance_number("511102001", counter, date(2026, 11, 27), round_no)
        body = {"acceptance_number": number, "person": person, "bank": "农业银行"}
        with requests.Session() as session:
            session.get(f"{base}/health", timeout=10)  # connect before the race
            headers = {
                "Authorization": f"Bearer {tokens[operator]}",
                "X-Counter-Key": counter_credential("511102001", counter),
                "Idempotency-Key": f"race-{round_no}-{counter}",
            }
            barrier.wait()
            response = session.post(f"{base}/commands/apply", json=body, headers=headers, timeout=30)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=desk, args=d) for d in DESKS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_concurrent_applies_one_succeeds_one_is_refused(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'central.db'}"
        prepare(url)
    else:
        url = request.getfixturevalue("fresh_pg_database")
    db = Database(url)
    known = []
    with db.write() as session:  # half the people are known to the city, half are registered by the race
        for i in range(ROUNDS // 2):
            number = id_number()
            session.add(
                PersonRow(
                    id_type="resident_id",
                    id_number=number,
                    social_security_number=number,
                    name=f"并发{i}",
                    sex="1",
                    ethnicity="01",
                    birth_date=date(1960, 1, 1),
                    insured_region="511102",
                    row_version=1,
                )
            )
            known.append({"id_number": number})
    new = [
        {"id_number": id_number(), "name": f"新人{i}", "ethnicity": "01"} for i in range(ROUNDS - len(known))
    ]
    with running_server(url, tmp_path / "server.log", workers=2) as base:
        tokens = {op: sign_in(requests, op, "511102001", counter, base=base) for op, counter in DESKS}
        for round_no, person in enumerate(known + new, start=1):
            responses = _apply_twice(base, person, round_no, tokens)
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [200, 409], [r.text for r in responses]
            refused = next(r for r in responses if r.status_code == 409)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["type"].endswith("/refused/in_production"), refused.text
            assert "制卡流程" in refused.json()["detail"]
    if backend == "postgres":  # READ COMMITTED, no row lock: the races really reached the unique indexes
        assert "lost a race on" in (tmp_path / "server.log").read_text()
    with db.read() as session:
        per_person = session.execute(
            select(CardRow.person_id, func.count())
            .where(CardRow.status.in_([s.value for s in PIPELINE_STATES]))
            .group_by(CardRow.person_id)
        ).all()
        persons = session.scalar(select(func.count()).select_from(PersonRow))
    db.dispose()
    assert persons == ROUNDS
    assert len(per_person) == ROUNDS and all(count == 1 for _, count in per_person)
