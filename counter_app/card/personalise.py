"""Writing the chip (写卡): 预制卡 personalisation (§7.1), the optional rewrite (§7.4), resolution (§7.2).

Every sequence: SELECT SSSE (算法标识 supported), check the 卡识别码 on the chip, EXTERNAL
AUTHENTICATE with the write key, then for each record: ✎ uncertain → UPDATE RECORD → READ RECORD →
equal byte for byte → ✎ confirmed (one retry, then 写卡校验失败). The ✎ steps call the caller's
`Checkpoint` so a crash leaves a journal entry to resume from.

Errors: everything that can be refused is refused before the first APDU (GBK, lengths, settings)
or before the first UPDATE (wrong card, not blank, authentication), by raising a `CardError`; the
card is then unchanged. Once the card is identified, a removal or reader fault ends in an UNCERTAIN
outcome, never an exception, and so does a card error after an UPDATE may have reached the card.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from counter_app.card.errors import (
    CardError,
    CardMismatch,
    InvalidWriteData,
    NotBlankPrefab,
    RewriteNotAllowed,
    StatusError,
    WriteVerifyFailed,
)
from counter_app.card.records import (
    EF06,
    Field,
    decode,
    encode,
    encode_date,
    encode_name,
    has_name_extension,
    is_blank,
    record_data,
)
from counter_app.card.ssse import SsseApplication
from counter_app.card.writes import (
    Checkpoint,
    PendingWrite,
    RecordState,
    RecordWrite,
    WriteKind,
    WriteOutcome,
    WriteStatus,
)
from counter_app.domain.identity import check_card_number
from counter_app.workflows.ports import CardRemovedError, KeyPurpose, TransportError

__all__ = ["PrefabData", "personalise_prefab", "resolve_uncertain", "rewrite_unprinted_fields"]

_log = logging.getLogger(__name__)

# Writing order (§7.1 P4): holder first, 卡号 last.
WRITE_ORDER = (
    Field.SSN,
    Field.NAME,
    Field.NAME_EXTENSION,
    Field.SEX,
    Field.ETHNICITY,
    Field.BIRTHPLACE,
    Field.BIRTH_DATE,
    Field.ISSUE_DATE,
    Field.EXPIRY_DATE,
    Field.CARD_NUMBER,
)
NEVER_REWRITTEN = frozenset(
    {*(f for f in Field if f.sfi != EF06), Field.SSN, Field.NAME, Field.NAME_EXTENSION}
)
_SEX_CODES = frozenset({"0", "1", "2", "9"})
_BLANK_CHECK = (Field.ISSUE_DATE, Field.EXPIRY_DATE, Field.CARD_NUMBER)


@dataclass(frozen=True)
class PrefabData:
    """What the server sends for a 预制卡 (制卡数据): 卡号, dates and the holder's EF06 items.

    Codes as on the chip: ``sex`` 性别 ``1``/``2``/``0``/``9``, ``ethnicity`` 民族 two digits
    (GB 3304), ``birthplace`` 出生地 six digits (行政区划).
    """

    card_number: str
    issue_date: date
    expiry_date: date
    ssn: str
    name: str
    sex: str
    ethnicity: str
    birthplace: str
    birth_date: date


def _holder_value(item: Field, text: str) -> bytes:
    if item is Field.SEX and text not in _SEX_CODES:
        raise InvalidWriteData("性别代码应为 1（男）、2（女）、0 或 9")
    if item in (Field.BIRTH_DATE, Field.ISSUE_DATE, Field.EXPIRY_DATE) and len(text) == 8:
        try:
            date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            raise InvalidWriteData(f"{item.label} {text} 不是有效日期") from None
    return encode(item, text)


def _prefab_records(data: PrefabData, *, has_extension: bool) -> tuple[RecordWrite, ...]:
    """Encode every record of ``data`` (no APDU); refuse what cannot be written."""
    name, extension = encode_name(data.name, has_extension=has_extension)
    number = check_card_number(data.card_number)
    if number.blocking:
        raise InvalidWriteData("卡号" + "；".join(f.message for f in number.failures if f.blocking))
    if number.value != data.card_number:
        raise InvalidWriteData("卡号须为 9 位大写字母或数字，不含空格")
    for failure in number.failures:
        _log.warning("卡号 %s：%s", data.card_number, failure.message)
    if data.expiry_date <= data.issue_date:
        raise InvalidWriteData("卡有效期应晚于发卡日期")
    values = {
        Field.SSN: _holder_value(Field.SSN, data.ssn),
        Field.NAME: name,
        Field.NAME_EXTENSION: extension,
        Field.SEX: _holder_value(Field.SEX, data.sex),
        Field.ETHNICITY: _holder_value(Field.ETHNICITY, data.ethnicity),
        Field.BIRTHPLACE: _holder_value(Field.BIRTHPLACE, data.birthplace),
        Field.BIRTH_DATE: encode_date(Field.BIRTH_DATE, data.birth_date),
        Field.ISSUE_DATE: encode_date(Field.ISSUE_DATE, data.issue_date),
        Field.EXPIRY_DATE: encode_date(Field.EXPIRY_DATE, data.expiry_date),
        Field.CARD_NUMBER: encode(Field.CARD_NUMBER, data.card_number),
    }
    order = [f for f in WRITE_ORDER if has_extension or f is not Field.NAME_EXTENSION]
    return tuple(RecordWrite(f, record_data(f, values[f])) for f in order)


def _normalise_card_id(card_id: str) -> str:
    value = card_id.strip().upper()
    try:
        ok = len(bytes.fromhex(value)) == 16
    except ValueError:
        ok = False
    if not ok:
        raise InvalidWriteData("卡识别码应为 32 位十六进制字符")
    return value


def _identify(app: SsseApplication, expected: str | None) -> tuple[bytes, str]:
    """P1–P2 (first part): select, algorithm and key provider, 卡识别码 equal to ``expected``."""
    app.require_key_provider()  # refused before any APDU
    app.select()
    app.keys()  # now the algorithm is known
    card_id = app.read(Field.CARD_ID)
    found = card_id.hex().upper()
    if expected is not None and found != expected:
        raise CardMismatch(expected, found)
    return card_id, found


def _interrupted(pending: PendingWrite, error: Exception) -> WriteOutcome:
    if isinstance(error, CardRemovedError):
        reason = "写卡过程中卡片离开读卡器，请重新插入同一张卡完成核对"
    elif isinstance(error, TransportError):
        reason = "写卡过程中读卡器故障，请检查读卡器后重新插入同一张卡完成核对"
    else:
        reason = f"{error}；请重新插入同一张卡完成核对"
    pending = replace(pending, reason=reason)
    card_error = error if isinstance(error, CardError) else None
    _log.warning("写卡未确认（%s，卡识别码 %s）：%s", pending.kind.value, pending.card_id, reason)
    return WriteOutcome(WriteStatus.UNCERTAIN, pending.card_id, (), pending, card_error)


def _write_all(
    app: SsseApplication,
    card_id: bytes,
    pending: PendingWrite,
    *,
    resume: bool,
    checkpoint: Checkpoint | None,
) -> WriteOutcome:
    """P3–P4: authenticate with the write key, then write and read back every record."""

    def save(state: PendingWrite) -> PendingWrite:
        if checkpoint is not None:
            checkpoint(state)
        return state

    try:
        app.authenticate(KeyPurpose.WRITE_AUTH, card_id)
        for index, record in enumerate(pending.records):
            if resume and app.read_raw(record.item) == record.data:  # (a) already there
                pending = save(pending.with_state(index, RecordState.CONFIRMED))
                continue
            for attempt in (1, 2):
                before = pending.records[index].state
                pending = save(pending.with_state(index, RecordState.UNCERTAIN))  # (b)
                try:
                    app.update(record.item, record.data)  # (c)
                except StatusError:
                    # The card answered with a status word and refused: the record is unchanged (§3.4).
                    pending = save(pending.with_state(index, before))
                    raise
                # Any other failure (no status word, a transport fault) may have reached the card:
                # the record stays UNCERTAIN and the outer handler ends the write as uncertain.
                if app.read_raw(record.item) == record.data:  # (d)
                    pending = save(pending.with_state(index, RecordState.CONFIRMED))
                    break
                _log.warning("写卡读回不一致：%s（第 %d 次）", record.item.label, attempt)
            else:
                raise WriteVerifyFailed(record.item.label)
    except TransportError as error:
        return _interrupted(pending, error)
    except CardError as error:
        if not pending.card_touched:
            raise  # no UPDATE reached the card: it is unchanged
        return _interrupted(pending, error)
    return WriteOutcome(WriteStatus.CONFIRMED, pending.card_id, pending.records, None, None)


def personalise_prefab(
    app: SsseApplication, expected_card_id: str | None, data: PrefabData, checkpoint: Checkpoint | None = None
) -> WriteOutcome:
    """预制卡个人化: write 卡号, dates and EF06 to a blank 预制卡 and read every record back."""
    expected = None if expected_card_id is None else _normalise_card_id(expected_card_id)
    _prefab_records(data, has_extension=True)  # GBK and lengths refused before any APDU
    card_id, found = _identify(app, expected)
    version = decode(Field.SPEC_VERSION, app.read(Field.SPEC_VERSION))
    records = _prefab_records(data, has_extension=has_name_extension(version))
    # Blank: every value byte FF (§1.2); all 00 is accepted as blank too (待确认 #14).
    if not all(is_blank(value) or not any(value) for value in map(app.read, _BLANK_CHECK)):
        raise NotBlankPrefab()
    pending = PendingWrite(WriteKind.PREFAB, found, records)
    if checkpoint is not None:
        checkpoint(pending)  # ✎ started
    return _write_all(app, card_id, pending, resume=False, checkpoint=checkpoint)


def rewrite_unprinted_fields(
    app: SsseApplication,
    expected_card_id: str,
    changes: Mapping[Field, str],
    checkpoint: Checkpoint | None = None,
) -> WriteOutcome:
    """芯片信息改写 of EF06 items not printed on the face, after the server recorded the change."""
    settings = app.settings
    if not settings.chip_rewrite_enabled:
        raise RewriteNotAllowed("本柜台未开启芯片信息改写")
    if not changes:
        raise RewriteNotAllowed("没有要改写的项目")
    for item in changes:
        if item in NEVER_REWRITTEN:
            raise RewriteNotAllowed(f"{item.label}不能改写，变更须办理换卡")
        if item.tag not in settings.chip_rewrite_tags:
            raise RewriteNotAllowed(f"{item.label}不在本市允许改写的项目中")
    records = tuple(
        RecordWrite(item, record_data(item, _holder_value(item, changes[item])))
        for item in WRITE_ORDER
        if item in changes
    )
    card_id, found = _identify(app, _normalise_card_id(expected_card_id))
    pending = PendingWrite(WriteKind.REWRITE, found, records)
    if checkpoint is not None:
        checkpoint(pending)
    return _write_all(app, card_id, pending, resume=False, checkpoint=checkpoint)


def resolve_uncertain(
    app: SsseApplication, pending: PendingWrite, checkpoint: Checkpoint | None = None
) -> WriteOutcome:
    """The next contact after an UNCERTAIN write (§7.2): read back, rewrite what differs, confirm.

    A different card raises `CardMismatch`; no card (or a removal before the card is identified)
    raises the port's `CardRemovedError`. Either way nothing was written and ``pending`` stays open.
    Once the card is identified, the outcome is CONFIRMED or UNCERTAIN as for the first attempt.
    """
    card_id, _ = _identify(app, pending.card_id)
    return _write_all(app, card_id, replace(pending, reason=""), resume=True, checkpoint=checkpoint)
