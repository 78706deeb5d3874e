"""Operator sign-in, tokens bound to the counter, expiry and sign-out, limits and lockout (also
across two worker processes), the counter's own endpoints, masked list views."""

from __future__ import annotations

import base64
import concurrent.futures
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.central.conftest import prepare
from tests.central.helpers import (
    HR,
    HR2,
    Api,
    assert_problem,
    counter_credential,
    counter_key,
    id_number,
    sign_in,
)
from tests.central.server import running_server

HR_KEY = counter_credential("511102001", "01")


def _sign_in(api: Api, operator: str, password: str, key: str | None = HR_KEY) -> requests.Response:
    headers = {"X-Counter-Key": key} if key else {}
    return api.raw.post(  # type: ignore[return-value]
        "/auth/sign-in", json={"operator_number": operator, "password": password}, headers=headers
    )


def test_sign_in_gives_a_token_bound_to_the_counter(api: Api) -> None:
    answer = _sign_in(api, "HR0101", "peixun-jingban")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["operator_number"], body["outlet_code"], body["counter_number"]) == (
        "HR0101",
        "511102001",
        "01",
    )
    token = {"Authorization": f"Bearer {body['token']}"}
    assert api.raw.get("/auth/me", headers={**token, "X-Counter-Key": HR_KEY}).status_code == 200
    # The same token from another counter, or without the counter's credential, is refused.
    other = counter_credential("511102001", "02")
    assert_problem(
        api.raw.get("/auth/me", headers={**token, "X-Counter-Key": other}), 401, "auth/counter_mismatch"
    )
    assert_problem(api.raw.get("/auth/me", headers=token), 401, "auth/counter_mismatch")
    forged = HR_KEY[:-4] + "abcd"
    assert_problem(
        api.raw.get("/auth/me", headers={**token, "X-Counter-Key": forged}), 401, "auth/counter_mismatch"
    )
    assert_problem(api.raw.get("/auth/me"), 401, "auth/token_missing")
    response = api.raw.get(
        "/auth/me", headers={"Authorization": "Bearer " + "x" * 43, "X-Counter-Key": HR_KEY}
    )
    assert_problem(response, 401, "auth/token_invalid")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_counter_needs_its_credential_to_sign_in(api: Api) -> None:
    assert_problem(
        _sign_in(api, "HR0101", "peixun-jingban", key=None), 401, "auth/counter_credential_missing"
    )
    wrong = "511102001-01.wrongwrongwrongwrongwrong"
    assert_problem(
        _sign_in(api, "HR0101", "peixun-jingban", key=wrong), 401, "auth/counter_credential_invalid"
    )
    admin = _sign_in(api, "ADMIN01", "peixun-guanli", key=None)  # the back office signs in without one
    assert admin.status_code == 200 and admin.json()["counter_number"] is None


def test_tokens_expire_are_renewed_while_used_and_end_at_sign_out(api: Api) -> None:
    settings = api.client.app.state.settings
    settings.auth_cache_seconds = 0
    token = _sign_in(api, "HR0101", "peixun-jingban").json()["token"]
    headers = {"Authorization": f"Bearer {token}", "X-Counter-Key": HR_KEY}
    api.clock.advance(minutes=settings.token_minutes * 0.75)
    assert api.raw.get("/auth/me", headers=headers).status_code == 200  # renewed: half the time had passed
    api.clock.advance(minutes=settings.token_minutes * 0.75)
    assert api.raw.get("/auth/me", headers=headers).status_code == 200
    api.clock.advance(minutes=settings.token_minutes + 1)
    assert_problem(api.raw.get("/auth/me", headers=headers), 401, "auth/token_expired")
    token = _sign_in(api, "HR0101", "peixun-jingban").json()["token"]
    headers = {"Authorization": f"Bearer {token}", "X-Counter-Key": HR_KEY}
    assert api.raw.post("/auth/sign-out", headers=headers).status_code == 204
    assert_problem(api.raw.get("/auth/me", headers=headers), 401, "auth/token_revoked")


def test_renewal_never_goes_beyond_the_working_day(api: Api) -> None:
    settings = api.client.app.state.settings
    settings.auth_cache_seconds = 0
    token = _sign_in(api, "HR0101", "peixun-jingban").json()["token"]
    headers = {"Authorization": f"Bearer {token}", "X-Counter-Key": HR_KEY}
    steps = int(settings.token_max_hours * 60 / (settings.token_minutes * 0.6)) + 2
    for _ in range(steps):
        api.clock.advance(minutes=settings.token_minutes * 0.6)
        if api.raw.get("/auth/me", headers=headers).status_code == 401:
            break
    else:
        pytest.fail("the token was renewed forever")
    assert api.clock.now() <= api.clock.current + timedelta(hours=settings.token_max_hours)


def test_repeated_failures_lock_the_account_and_the_lock_ends(api: Api) -> None:
    settings = api.client.app.state.settings
    for _ in range(settings.lockout_failures - 1):
        assert_problem(_sign_in(api, "HR0102", "wrong"), 401, "auth/invalid_credentials")
    locked = assert_problem(_sign_in(api, "HR0102", "wrong"), 403, "auth/account-locked")
    assert locked["locked_until"]
    # Locked: even the right password is refused, without being checked.
    assert_problem(_sign_in(api, "HR0102", "peixun-jingban"), 403, "auth/account-locked")
    api.clock.advance(minutes=settings.lockout_minutes + 1)
    assert _sign_in(api, "HR0102", "peixun-jingban").status_code == 200
    # A success starts the count again.
    assert_problem(_sign_in(api, "HR0102", "wrong"), 401, "auth/invalid_credentials")


def test_sign_in_attempts_are_rate_limited(api: Api) -> None:
    settings = api.client.app.state.settings
    settings.sign_in_limit = 3
    for _ in range(3):
        assert _sign_in(api, "HR0101", "peixun-jingban").status_code == 200
    limited = _sign_in(api, "HR0101", "peixun-jingban")
    assert_problem(limited, 429, "rate-limited")
    assert int(limited.headers["Retry-After"]) >= 1
    api.clock.advance(seconds=settings.sign_in_window_seconds)
    assert _sign_in(api, "HR0101", "peixun-jingban").status_code == 200


def test_the_counter_fetches_its_receipt_key_with_its_credential(api: Api) -> None:
    answer = api.raw.get("/counters/me/receipt-key", headers={"X-Counter-Key": HR_KEY})
    assert answer.status_code == 200
    assert base64.b64decode(answer.json()["receipt_key"]) == counter_key(api, "511102001", "01")
    assert_problem(api.raw.get("/counters/me/receipt-key"), 401, "auth/counter_credential_missing")


def test_list_views_mask_id_numbers(api: Api) -> None:
    person = api.person()
    agent_number = id_number()
    agent = {"name": "代办人", "id_number": agent_number, "relation": "朋友"}
    api.ok(
        "change_contact",
        {"person": person["ref"], "phone": "13911112222", "requester": "other", "agent": agent},
    )
    detail = api.client.get(f"/persons/{person['id']}").json()
    shown = detail["transactions"][0]["agent"]["id_number"]
    assert shown == agent_number[:4] + "*" * 10 + agent_number[-4:]
    assert detail["id_number"] == person["id_number"]  # the person looked up by their own number: in full


# --------------------------------------------------------------------------------------------
# Two worker processes: the limits live in the database
# --------------------------------------------------------------------------------------------


def wait_for_workers(log: Path, count: int, timeout: float = 60) -> None:
    """Until ``count`` worker processes have logged that they serve (a loaded machine starts the
    second one seconds after the first)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text().splitlines() if log.exists() else []
        started = {line.split("[")[1].split("]")[0] for line in lines if "Started server process" in line}
        if len(started) >= count and sum("Application startup complete" in line for line in lines) >= count:
            return
        assert time.monotonic() < deadline, f"only {len(started)} of {count} workers started:\n" + "\n".join(
            lines
        )
        time.sleep(0.1)


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_lockout_holds_across_two_workers(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'central.db'}"
        prepare(url)
    else:
        url = request.getfixturevalue("fresh_pg_database")
    env = {"CENTRAL_LOCKOUT_FAILURES": "5", "CENTRAL_SIGN_IN_LIMIT": "100"}
    with running_server(url, tmp_path / "server.log", workers=2, extra_env=env) as base:
        wait_for_workers(tmp_path / "server.log", 2)  # /health answered by one; both must be serving

        def attempt(password: str) -> requests.Response:
            with requests.Session() as session:  # a new connection each time: either worker may answer
                return session.post(
                    f"{base}/auth/sign-in",
                    json={"operator_number": "HR0102", "password": password},
                    headers={"X-Counter-Key": HR_KEY, "Connection": "close"},
                    timeout=30,
                )

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(attempt, ["wrong"] * 8))
        statuses = sorted(r.status_code for r in answers)
        assert statuses.count(401) <= 4 and statuses.count(403) >= 4, statuses  # never more than 5 tries
        assert attempt("peixun-jingban").status_code == 403  # locked for every worker
        # Rate limit across workers too.
        assert sign_in(requests, "HR0101", *HR[1:], base=base)
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log


@pytest.mark.integration
def test_rate_limit_holds_across_two_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    prepare(url)
    with running_server(
        url, tmp_path / "server.log", workers=2, extra_env={"CENTRAL_SIGN_IN_LIMIT": "6"}
    ) as base:

        def attempt(_: int) -> int:
            with requests.Session() as session:
                return session.post(
                    f"{base}/auth/sign-in",
                    json={"operator_number": "HR0102", "password": "peixun-jingban"},
                    headers={"X-Counter-Key": counter_credential(*HR2[1:]), "Connection": "close"},  # type: ignore[arg-type]
                    timeout=30,
                ).status_code

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = sorted(pool.map(attempt, range(10)))
    assert statuses.count(200) == 6 and statuses.count(429) == 4, statuses
