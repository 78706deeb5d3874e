"""How the server serves: threads, documented path order, the command path, feed bodies, the read pool."""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import Any

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import SAWarning

from central.api.fast import FAST_PATHS
from central.app import create_app
from central.core.config import Settings
from central.core.db import Database
from central.core.problems import DATABASE_DOWN
from central.core.reads import ReadPool, ReadPoolTimeout
from counter_app.domain.card_lifecycle import SocialStatus
from tests.central.helpers import ADMIN, HR_SUPERVISOR, Api, AuthedClient, FakeClock

S = SocialStatus


def test_synchronous_routes_get_the_configured_threads(central_url: str) -> None:
    app = create_app(Settings(database_url=central_url, expiry_sweep_seconds=0, threads=3))

    async def tokens() -> float:
        async with app.router.lifespan_context(app):
            return to_thread.current_default_thread_limiter().total_tokens

    assert asyncio.run(tokens()) == 3


def test_openapi_lists_the_paths_in_the_documented_order(central_url: str) -> None:
    paths = list(create_app(Settings(database_url=central_url)).openapi()["paths"])
    assert paths[:3] == ["/health", "/outlets", "/subsidies/items"]
    assert paths.index("/auth/sign-in") < paths.index("/persons") < paths.index("/cards")
    assert paths.index("/cards") < paths.index("/commands/apply") < paths.index("/changes")
    assert paths[-1] == "/receipts/verify"
    assert not any(p.startswith("/bench") for p in paths)


def test_the_command_path_builds_clean_queries(api: Api) -> None:
    """Counter, confirmed and back-office commands: no SQLAlchemy warning (e.g. a cartesian product)."""
    person = api.person(vulnerable_group="subsistence_allowance")
    card = api.card(person["id"], S.ACTIVE)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        api.ok("change_contact", {"person": person["ref"], "phone": "13900000009"})
        api.ok("cancel_card", {"card": {"card_id": card}, "reason": "abroad"}, confirmer=HR_SUPERVISOR)
        api.ok("temp_loss_expiry", {}, at=ADMIN)


@pytest.mark.postgres
@pytest.mark.integration
def test_feed_bodies_written_with_the_commit_are_the_records_as_json(api: Api) -> None:
    person = api.person(name="彝族姓名·阿依")
    api.ok("change_contact", {"person": person["ref"], "phone": "13900000010", "address": "峨边“黑竹沟”1号"})
    with api.db.read() as session:
        seq, entity, entity_id, body = session.execute(
            text("SELECT seq, entity, entity_id, body FROM feed_entries ORDER BY seq DESC LIMIT 1")
        ).one()
    entry = json.loads(body)
    assert list(entry) == ["seq", "entity", "id", "at", "data"]
    assert (
        (entry["seq"], entry["entity"], entry["id"])
        == (seq, entity, entity_id)
        == (seq, "person", person["id"])
    )
    assert body == json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    assert entry["data"]["address"] == "峨边“黑竹沟”1号" and entry["data"]["name"] == "彝族姓名·阿依"


@pytest.mark.postgres
@pytest.mark.integration
def test_the_read_pool_waits_reuses_and_drops(pg_central: str) -> None:
    db = Database(pg_central)
    pool = ReadPool.for_engine(db.engine, size=1, timeout=0.2)
    assert pool is not None and ReadPoolTimeout in DATABASE_DOWN

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with pool.connection() as first:
            seen["zone"] = await _one(first, "SHOW TimeZone")
            with pytest.raises(ReadPoolTimeout):  # the only connection is taken
                async with pool.connection():
                    pass
        async with pool.connection() as again:
            seen["reused"] = again is first
            await again.execute("SELECT pg_sleep(0)")
        cancelled = asyncio.ensure_future(pool.run(lambda conn: conn.execute("SELECT pg_sleep(5)")))
        await asyncio.sleep(0.2)
        cancelled.cancel()  # the client went away: psycopg cancels the statement
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        async with pool.connection() as after:
            seen["answer"] = await _one(after, "SELECT 41 + 1")
            await after.execute("BEGIN")  # left in a transaction: not given to the next lookup
        async with pool.connection() as fresh:
            seen["fresh"] = fresh is not after and fresh is not first
        await pool.close()
        with pytest.raises(ReadPoolTimeout):
            async with pool.connection():
                pass
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        db.dispose()
    assert seen == {"zone": "Asia/Shanghai", "reused": True, "fresh": True, "answer": 42}


async def _one(conn: Any, query: str) -> Any:
    row = await (await conn.execute(query)).fetchone()
    assert row is not None
    return row[0]


def test_no_read_pool_on_sqlite(central_url: str) -> None:
    db = Database(central_url)
    try:
        pool = ReadPool.for_engine(db.engine, size=5, timeout=1)
        assert (pool is None) == db.sqlite
        assert ReadPool.for_engine(db.engine, size=0, timeout=1) is None
    finally:
        db.dispose()


def test_settings_size_the_postgres_pool_only(central_url: str) -> None:
    options = Settings(database_url=central_url, db_pool_size=7, db_max_overflow=3).engine_options()
    if central_url.startswith("sqlite"):
        assert options == {}
    else:
        assert options == {"pool_size": 7, "max_overflow": 3, "pool_timeout": 10.0}
        app = create_app(Settings(database_url=central_url, db_pool_size=7, db_max_overflow=3))
        assert app.state.db.engine.pool.size() == 7


def test_the_command_fast_path_answers_as_fastapi_does(
    central_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same requests to an app with the fast path and one without: the same answers (both backends)."""
    used: list[str] = []
    for endpoint, path in list(FAST_PATHS.items()):

        async def counted(request: Any, route: Any, _path: Any = path, _name: str = endpoint.__name__) -> Any:
            response = await _path(request, route)
            if response is not None:
                used.append(_name)
            return response

        monkeypatch.setitem(FAST_PATHS, endpoint, counted)
    base: dict[str, Any] = {"database_url": central_url, "expiry_sweep_seconds": 0, "sign_in_limit": 10_000}
    with (
        TestClient(create_app(Settings(**base), clock=clock)) as fast,
        TestClient(create_app(Settings(**base, fast_routes=False), clock=clock)) as ordinary,
    ):
        db = Database(central_url)
        api = Api(fast, db, clock)
        person = api.person()
        clients = {"fast": AuthedClient(fast), "ordinary": AuthedClient(ordinary)}
        auth = {name: client.headers() for name, client in clients.items()}

        def body(**fields: Any) -> dict[str, Any]:
            return {
                "acceptance_number": api.acceptance_number(),
                "person": person["ref"],
                "phone": "13900000011",
                **fields,
            }

        def post(name: str, content: bytes, headers: list[tuple[str, str]], credentials: bool = True) -> Any:
            sent = [*headers, *(auth[name].items() if credentials else [])]
            return clients[name].raw.post("/commands/change_contact", content=content, headers=sent)

        json_type = ("Content-Type", "application/json")
        good = json.dumps(body()).encode()
        cases: list[tuple[str, bytes, list[tuple[str, str]], bool]] = [
            ("no key", good, [json_type], True),
            ("empty key", good, [json_type, ("Idempotency-Key", "")], True),
            ("bad key", good, [json_type, ("Idempotency-Key", "two words")], True),
            ("long key", good, [json_type, ("Idempotency-Key", "k" * 300)], True),
            ("two keys", good, [json_type, ("Idempotency-Key", "a1"), ("Idempotency-Key", "a2")], True),
            ("text body", good, [("Content-Type", "text/plain"), ("Idempotency-Key", "b1")], True),
            ("no JSON", b"{phone", [json_type, ("Idempotency-Key", "b2")], True),
            ("empty body", b"", [json_type, ("Idempotency-Key", "b3")], True),
            (
                "extra field",
                json.dumps(body(colour="red")).encode(),
                [json_type, ("Idempotency-Key", "b4")],
                True,
            ),
            (
                "long confirmer",
                good,
                [json_type, ("Idempotency-Key", "b5"), ("X-Confirmer-Token", "t" * 201)],
                True,
            ),
            (
                "bad audit head",
                good,
                [json_type, ("Idempotency-Key", "b6"), ("X-Audit-Head", "12:xyz")],
                True,
            ),
            ("no credentials", good, [json_type, ("Idempotency-Key", "b7")], False),
        ]
        for label, content, headers, credentials in cases:
            answers = {}
            for name in clients:
                response = post(name, content, headers, credentials)
                answers[name] = (response.status_code, response.headers["content-type"], response.content)
            assert answers["fast"] == answers["ordinary"], (label, answers)
            # FastAPI takes one of two keys (the second app replays the first one's answer)
            assert answers["fast"][0] in ((200,) if label == "two keys" else (400, 401, 422)), (
                label,
                answers,
            )
        other_counter = json.dumps(body(acceptance_number="511102001-02-20261127-0001")).encode()
        refused = {
            name: post(name, other_counter, [json_type, ("Idempotency-Key", f"c-{name}")]) for name in clients
        }
        assert refused["fast"].status_code == 422 and refused["fast"].content == refused["ordinary"].content
        # a command done by either path is replayed by the other one, answer for answer
        for first, second in (("fast", "ordinary"), ("ordinary", "fast")):
            key = [json_type, ("Idempotency-Key", f"d-{first}")]
            content = json.dumps(body()).encode()
            done, again = post(first, content, key), post(second, content, key)
            assert done.status_code == 200 and "Idempotent-Replayed" not in done.headers
            assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
            assert again.json() == done.json()
        db.dispose()
    assert used.count("change_contact") == 2, used  # the command it did and the one it replayed
