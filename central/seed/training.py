"""Training outlets, counters and operators (培训网点与工号), with known training passwords.

Five outlets cover the rules that differ by outlet: the city's HR centre (every item, prefab
personalisation), a county HR window in 峨边, a bank outlet with quick-issuance equipment that may
also activate the social function, a bank outlet without either, and a bank outlet with equipment
that may not activate the social function. Each has clerks and a supervisor; ``ADMIN01`` runs the
back office. The passwords and fresh counter credentials are printed by ``counter-central seed``:
training data only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.security import DEFAULT_N, hash_password, new_receipt_key
from central.models import CounterRow, OperatorRow, OutletRow
from central.services.auth import issue_counter_credential


@dataclass(frozen=True)
class TrainingOutlet:
    code: str
    name: str
    type: str
    region_code: str
    bank: str | None
    can_activate_social: bool
    instant_issuance: bool
    counters: tuple[str, ...]


@dataclass(frozen=True)
class TrainingOperator:
    number: str
    name: str
    role: str
    outlet_code: str | None
    password: str


OUTLETS: Final = (
    TrainingOutlet(
        "511102001",
        "乐山市人力资源和社会保障中心社会保障卡服务窗口",
        "hr_window",
        "511102",
        None,
        True,
        True,
        ("01", "02", "03"),
    ),
    TrainingOutlet(
        "511132001", "峨边彝族自治县社会保障卡服务窗口", "hr_window", "511132", None, True, False, ("01",)
    ),
    TrainingOutlet(
        "511102101",
        "农业银行乐山分行营业部（快速制卡网点）",
        "bank_outlet",
        "511102",
        "农业银行",
        True,
        True,
        ("01", "02"),
    ),
    TrainingOutlet(
        "511102102", "工商银行乐山市中区支行", "bank_outlet", "511102", "工商银行", False, False, ("01",)
    ),
    TrainingOutlet(
        "511181101",
        "四川农信峨眉山市支行（快速制卡网点）",
        "bank_outlet",
        "511181",
        "四川农信",
        False,
        True,
        ("01",),
    ),
)

_CLERK, _SUPERVISOR, _ADMIN = "peixun-jingban", "peixun-fuhe", "peixun-guanli"
#: Training password per role kind (printed by the seed command).
PASSWORDS: Final = {"clerk": _CLERK, "supervisor": _SUPERVISOR, "admin": _ADMIN}

OPERATORS: Final = (
    TrainingOperator("HR0101", "培训经办甲", "hr_clerk", "511102001", _CLERK),
    TrainingOperator("HR0102", "培训经办乙", "hr_clerk", "511102001", _CLERK),
    TrainingOperator("HR0109", "培训复核甲", "hr_supervisor", "511102001", _SUPERVISOR),
    TrainingOperator("HR0108", "培训复核乙", "hr_supervisor", "511102001", _SUPERVISOR),
    TrainingOperator("HR0201", "峨边经办", "hr_clerk", "511132001", _CLERK),
    TrainingOperator("HR0209", "峨边复核", "hr_supervisor", "511132001", _SUPERVISOR),
    TrainingOperator("NH0101", "农行经办", "bank_clerk", "511102101", _CLERK),
    TrainingOperator("NH0109", "农行复核", "bank_supervisor", "511102101", _SUPERVISOR),
    TrainingOperator("GH0101", "工行经办", "bank_clerk", "511102102", _CLERK),
    TrainingOperator("GH0109", "工行复核", "bank_supervisor", "511102102", _SUPERVISOR),
    TrainingOperator("NX0101", "农信经办", "bank_clerk", "511181101", _CLERK),
    TrainingOperator("NX0109", "农信复核", "bank_supervisor", "511181101", _SUPERVISOR),
    TrainingOperator("ADMIN01", "培训管理员", "admin", None, _ADMIN),
)


def create_training_data(session: Session, *, kdf_n: int = DEFAULT_N) -> list[TrainingOperator]:
    """Insert the training outlets, counters and operators that are missing; returns the operators."""
    ids: dict[str, int] = {}
    for spec in OUTLETS:
        outlet = session.scalar(select(OutletRow).where(OutletRow.code == spec.code))
        if outlet is None:
            outlet = OutletRow(
                code=spec.code,
                name=spec.name,
                type=spec.type,
                region_code=spec.region_code,
                bank=spec.bank,
                can_activate_social=spec.can_activate_social,
                instant_issuance=spec.instant_issuance,
            )
            session.add(outlet)
            session.flush()
        ids[spec.code] = outlet.id
        existing = set(session.scalars(select(CounterRow.number).where(CounterRow.outlet_id == outlet.id)))
        for number in spec.counters:
            if number not in existing:
                session.add(CounterRow(outlet_id=outlet.id, number=number, receipt_key=new_receipt_key()))
    known = set(session.scalars(select(OperatorRow.number)))
    for op in OPERATORS:
        if op.number not in known:
            session.add(
                OperatorRow(
                    number=op.number,
                    name=op.name,
                    role=op.role,
                    outlet_id=ids[op.outlet_code] if op.outlet_code else None,
                    password_hash=hash_password(op.password, n=kdf_n),
                )
            )
    session.flush()
    return list(OPERATORS)


def issue_training_credentials(
    session: Session, secret_for: Callable[[str, str], str] | None = None
) -> dict[str, str]:
    """New credentials (柜台凭据) for every training counter; ``{"<outlet>-<counter>": header value}``.

    The old credentials stop working. ``secret_for(outlet, counter)`` fixes the secrets (tests only).
    """
    credentials: dict[str, str] = {}
    for spec in OUTLETS:
        outlet_id = session.scalar(select(OutletRow.id).where(OutletRow.code == spec.code))
        for number in spec.counters:
            counter = session.scalar(
                select(CounterRow).where(CounterRow.outlet_id == outlet_id, CounterRow.number == number)
            )
            if counter is None:
                continue
            secret = secret_for(spec.code, number) if secret_for is not None else None
            credentials[f"{spec.code}-{number}"] = issue_counter_credential(session, counter, secret)
    return credentials


def credentials_sheet(credentials: dict[str, str]) -> str:
    """The printed counter credentials (柜台凭据, X-Counter-Key) of the training counters."""
    lines = ["培训柜台凭据（X-Counter-Key，仅供培训使用；重新执行 seed 会换发）:"]
    lines += [f"  柜台 {label:<14} {value}" for label, value in credentials.items()]
    return "\n".join(lines)


def sign_in_sheet() -> str:
    """The printed list of training outlets and sign-in numbers (培训工号表)."""
    lines = ["培训网点与工号（仅供培训使用）:"]
    by_outlet: dict[str | None, list[TrainingOperator]] = {}
    for op in OPERATORS:
        by_outlet.setdefault(op.outlet_code, []).append(op)
    for spec in OUTLETS:
        caps = [
            label
            for label, present in (
                ("快速制卡", spec.instant_issuance),
                ("社保功能激活", spec.can_activate_social),
            )
            if present
        ]
        kind = "人社窗口" if spec.type == "hr_window" else f"银行网点·{spec.bank}"
        lines.append(
            f"  网点 {spec.code} {spec.name}（{kind}；{'、'.join(caps) or '无快速制卡、不能激活社保功能'}）"
            f" 柜台 {', '.join(spec.counters)}"
        )
        lines += [
            f"    工号 {op.number:<8} {op.name:<8} {op.role:<16} 密码 {op.password}"
            for op in by_outlet[spec.code]
        ]
    lines += [f"  后台 工号 {op.number:<8} {op.name} {op.role} 密码 {op.password}" for op in by_outlet[None]]
    return "\n".join(lines)
