"""Helpers of the central tests: a movable clock, counters that send commands, record factories."""

from __future__ import annotations

import base64
import itertools
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from stdnum.cn import ric

from central.core.db import Database
from central.models import (
    CardEventRow,
    CardRow,
    CounterRow,
    HouseholdRow,
    OutletRow,
    PersonRow,
    SubsidyPaymentRow,
    TransactionRow,
)
from central.seed.training import OPERATORS
from central.upstream import banks, province
from counter_app.domain.card_lifecycle import SHANGHAI, FinancialStatus, SocialStatus
from counter_app.domain.receipt_code import format_acceptance_number

PROBLEM = "application/problem+json"
BASE = "https://sbk.leshan.example/problems/"

#: (operator, outlet, counter) of the training data.
HR = ("HR0101", "511102001", "01")  # 人社 centre: every item, instant issuance, social activation
HR2 = ("HR0102", "511102001", "02")
HR_EB = ("HR0201", "511132001", "01")  # 峨边 window: no instant issuance
NH = ("NH0101", "511102101", "01")  # 农业银行: instant issuance + social activation
GH = ("GH0101", "511102102", "01")  # 工商银行: neither
NX = ("NX0101", "511181101", "01")  # 四川农信: instant issuance, no social activation
ADMIN = ("ADMIN01", None, None)
HR_SUPERVISOR = "HR0109"
NH_SUPERVISOR = "NH0109"
BACK_OFFICE = frozenset({"start_production", "production_done", "temp_loss_expiry"})

_numbers = itertools.count(1)
Desk = tuple[str, str | None, str | None]

#: Training passwords by 工号 (central.seed.training).
PASSWORDS = {op.number: op.password for op in OPERATORS}


#: The tests' receipt-key seal: one for every server a test starts (the PostgreSQL test database
#: outlives a test, and its counters' keys stay sealed with it).
TEST_SEAL_KEY = base64.b64encode(b"central-tests-16").decode()


def counter_secret(outlet: str, counter: str) -> str:
    """The fixed test credential secret of a training counter (conftest.prepare issues them)."""
    return f"test-secret-{outlet}-{counter}-0123456789"


def counter_credential(outlet: str, counter: str) -> str:
    """``X-Counter-Key`` of a training counter in the test databases."""
    return f"{outlet}-{counter}.{counter_secret(outlet, counter)}"


def sign_in(client: Any, operator: str, outlet: str | None, counter: str | None, *, base: str = "") -> str:
    """Sign ``operator`` in at that counter (``admin`` without one); returns the token.

    ``client`` is a TestClient, or a requests/httpx session with ``base`` the server's URL.
    """
    headers = {"X-Counter-Key": counter_credential(outlet, counter)} if outlet and counter else {}
    response = client.post(
        f"{base}/auth/sign-in",
        json={"operator_number": operator, "password": PASSWORDS[operator]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


class AuthedClient:
    """The test client signed in as an operator at a counter (HR clerk at 01 by default).

    Tokens are cached per (operator, outlet, counter) and renewed when the server says they expired
    (tests move the clock by days).
    """

    def __init__(self, client: TestClient, desk: Desk = ("HR0101", "511102001", "01")) -> None:
        self.raw = client
        self.desk = desk
        self._tokens: dict[Desk, str] = {}

    def headers(self, desk: Desk | None = None, *, fresh: bool = False) -> dict[str, str]:
        desk = desk or self.desk
        operator, outlet, counter = desk
        if fresh or desk not in self._tokens:
            self._tokens[desk] = sign_in(self.raw, operator, outlet, counter)
        headers = {"Authorization": f"Bearer {self._tokens[desk]}"}
        if outlet and counter:
            headers["X-Counter-Key"] = counter_credential(outlet, counter)
        return headers

    def request(self, method: str, url: str, *, desk: Desk | None = None, **kw: Any) -> Response:
        extra = kw.pop("headers", None) or {}
        response = self.raw.request(method, url, headers={**self.headers(desk), **extra}, **kw)
        if response.status_code == 401 and response.json().get("code") == "token_expired":
            response = self.raw.request(
                method, url, headers={**self.headers(desk, fresh=True), **extra}, **kw
            )
        return response

    @property
    def app(self) -> Any:
        return self.raw.app

    def get(self, url: str, **kw: Any) -> Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Response:
        return self.request("POST", url, **kw)


class FakeClock:
    """A clock the test moves (Asia/Shanghai)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def id_number(*, birth: date | None = None, region: str = "511102", sex: str = "1") -> str:
    """A valid, unique 公民身份号码."""
    n = next(_numbers)
    birth = birth or date(1960, 1, 1) + timedelta(days=n // 40)
    parity = (n % 5) * 2 + (1 if sex == "1" else 0)
    body = f"{region}{birth:%Y%m%d}{n % 40:02d}{parity}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a check slot


class Api:
    """Sends commands as counters do and arranges records directly in the database."""

    def __init__(self, client: TestClient, db: Database, clock: FakeClock) -> None:
        self.client = AuthedClient(client)
        self.raw = client
        self.db = db
        self.clock = clock
        self._sequence = itertools.count(1)

    # -- HTTP -------------------------------------------------------------------------------

    def acceptance_number(self, at: tuple[str, str | None, str | None] = HR) -> str:
        _, outlet, counter = at
        assert outlet and counter
        return format_acceptance_number(outlet, counter, self.clock.now().date(), next(self._sequence))

    def command(
        self,
        name: str,
        body: dict[str, Any] | None = None,
        *,
        at: tuple[str, str | None, str | None] = HR,
        confirmer: str | None = None,
        key: str | None = None,
        audit_head: str | None = None,
        path: str | None = None,
    ) -> Response:
        _, outlet, counter = at
        payload = dict(body or {})
        if path is None and name not in BACK_OFFICE and outlet and counter:
            payload.setdefault("acceptance_number", self.acceptance_number(at))
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        if confirmer:
            assert outlet and counter
            headers["X-Confirmer-Token"] = self.client.headers((confirmer, outlet, counter))["Authorization"][
                7:
            ]
        if audit_head:
            headers["X-Audit-Head"] = audit_head
        return self.client.post(path or f"/commands/{name}", json=payload, headers=headers, desk=at)

    def ok(self, name: str, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        response = self.command(name, body, **kw)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def refused(self, name: str, body: dict[str, Any] | None, code: str, **kw: Any) -> dict[str, Any]:
        """The command is refused with ``code`` and changes nothing."""
        before = snapshot(self.db)
        response = self.command(name, body, **kw)
        problem = assert_problem(response, 409, f"refused/{code}")
        assert snapshot(self.db) == before, "a refused command changed the database"
        return problem

    def invalid(self, name: str, body: dict[str, Any] | None, rule: str, **kw: Any) -> dict[str, Any]:
        before = snapshot(self.db)
        response = self.command(name, body, **kw)
        problem = assert_problem(response, 422, f"invalid/{rule}")
        assert snapshot(self.db) == before, "an invalid command changed the database"
        return problem

    # -- records ------------------------------------------------------------------------------

    def person(self, **fields: Any) -> dict[str, Any]:
        """A person (with a household of their own unless ``household_id`` is given)."""
        sex = fields.pop("sex", "1")
        birth = fields.pop("birth_date", None)
        number = fields.pop("id_number", None) or id_number(birth=birth, sex=sex)
        with self.db.write() as session:
            household_id = fields.pop("household_id", None)
            if household_id is None:
                household = HouseholdRow(number=f"H{number}", region_code="511102")
                session.add(household)
                session.flush()
                household_id = household.id
            person = PersonRow(
                id_type="resident_id",
                id_number=number,
                social_security_number=number,
                name=fields.pop("name", "张三"),
                sex=sex,
                ethnicity=fields.pop("ethnicity", "01"),
                birthplace=number[:6],
                birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                phone=fields.pop("phone", "13800000000"),
                address=fields.pop("address", "四川省乐山市市中区嘉定路1号"),
                insured_region=fields.pop("insured_region", "511102"),
                household_id=household_id,
                row_version=1,
                **fields,
            )
            session.add(person)
            session.flush()
            household_row = session.get(HouseholdRow, household_id)
            assert household_row is not None
            if household_row.head_person_id is None:
                household_row.head_person_id = person.id
            return {
                "id": person.id,
                "id_number": number,
                "household_id": household_id,
                "ref": {"id_number": number},
            }

    def card(
        self,
        person_id: int,
        status: SocialStatus,
        *,
        bank: str = "农业银行",
        state_before_loss: SocialStatus | None = None,
        replacement_applied: bool = False,
        known_duplicate: bool = False,
        loss_reported_at: datetime | None = None,
        financial: FinancialStatus | None = None,
        replaces_card_id: int | None = None,
        replace_kind: str | None = None,
        production_batch: str | None = "B-TEST",
    ) -> int:
        """A card in ``status`` (with 卡号 and 卡识别码 once it was produced)."""
        if status in (SocialStatus.TEMP_LOSS, SocialStatus.FORMAL_LOSS):
            state_before_loss = state_before_loss or SocialStatus.ACTIVE
            loss_reported_at = loss_reported_at or self.clock.now() - timedelta(days=1)
        numbered = status not in (SocialStatus.APPLIED, SocialStatus.IN_PRODUCTION)
        if financial is None:
            financial = FinancialStatus.ACTIVE if status is SocialStatus.ACTIVE else FinancialStatus.INACTIVE
        now = self.clock.now()
        with self.db.write() as session:
            card = CardRow(
                person_id=person_id,
                status=status.value,
                issuing_region="511102",
                bank=bank,
                financial_status=financial.value,
                state_before_loss=state_before_loss.value if state_before_loss else None,
                loss_reported_at=loss_reported_at,
                replacement_applied=replacement_applied,
                known_duplicate=known_duplicate,
                replaces_card_id=replaces_card_id,
                replace_kind=replace_kind,
                applied_at=now - timedelta(days=30),
                production_batch=production_batch,
                updated_at=now,
                spec_version="3.00",
                pin_resets=0,
                pin_unblocks=0,
                row_version=1,
            )
            session.add(card)
            session.flush()
            if numbered:
                card.card_number = province.card_number_for(card.id + 5_000_000)
                card.card_identifier = province.card_identifier("511102")
                card.account_masked = banks.open_account(bank)
                card.issued_on = (now - timedelta(days=20)).date()
                card.expires_on = province.expiry_for(card.issued_on)
            return card.id

    def card_row(self, card_id: int) -> CardRow:
        with self.db.read() as session:
            card = session.get(CardRow, card_id)
            assert card is not None
            return card

    def status(self, card_id: int) -> str:
        return self.card_row(card_id).status


def stored_receipt_key(db: Database, outlet_code: str, counter_number: str) -> bytes:
    """The counter's 回执密钥 as the database holds it (sealed once a server has started)."""
    with db.read() as session:
        key = session.scalar(
            select(CounterRow.receipt_key)
            .join(OutletRow, OutletRow.id == CounterRow.outlet_id)
            .where(OutletRow.code == outlet_code, CounterRow.number == counter_number)
        )
        assert key is not None
        return key


def counter_key(api: Api, outlet_code: str, counter_number: str) -> bytes:
    """The counter's 回执密钥, opened with the test server's seal."""
    stored = stored_receipt_key(api.db, outlet_code, counter_number)
    seal = api.raw.app.state.receipt_seal  # type: ignore[attr-defined]
    key: bytes = seal.open(stored, outlet_code, counter_number)
    return key


def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a command may change, to compare before and after a refusal."""
    with db.read() as session:
        cards = session.execute(
            select(
                CardRow.id,
                CardRow.status,
                CardRow.state_before_loss,
                CardRow.financial_status,
                CardRow.replacement_applied,
                CardRow.card_number,
                CardRow.card_identifier,
                CardRow.row_version,
                CardRow.pin_resets,
                CardRow.pin_unblocks,
            ).order_by(CardRow.id)
        ).all()
        persons = session.execute(
            select(
                PersonRow.id,
                PersonRow.name,
                PersonRow.id_number,
                PersonRow.insured_region,
                PersonRow.phone,
                PersonRow.row_version,
            ).order_by(PersonRow.id)
        ).all()
        counts = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (TransactionRow, CardEventRow, SubsidyPaymentRow, HouseholdRow)
        )
    return (tuple(cards), tuple(persons), counts)


def assert_problem(response: Response, status: int, kind: str) -> dict[str, Any]:
    """A problem+json answer of ``status`` with type ``…/<kind>``, a Chinese detail and a code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    problem: dict[str, Any] = response.json()
    assert problem["type"] == BASE + kind, problem
    assert problem["status"] == status
    assert any("\u4e00" <= c <= "\u9fff" for c in problem["detail"]), problem["detail"]
    assert problem["code"]
    return problem
