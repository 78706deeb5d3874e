"""The audit chain: edits, deletions and reorderings are found locally; truncation and recomputation
against a head the server holds; ``counter-app audit verify`` reports them."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter_app.store import AuditHead, BreakKind, Store
from counter_app.store.audit import GENESIS_HASH, AuditEntry, canonical, entry_hash
from tests.store.conftest import make_record

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def chained(store: Store) -> Store:
    for i in range(1, 7):
        store.record(make_record(f"A{i}", minutes=i, command="report_loss" if i % 2 else None))
    return store


def _sql(store: Store, *statements: str) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))


def _entry_ids(store: Store) -> dict[int, str]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT seq, entry_id FROM audit_entries")).all()
    return {int(seq): str(entry_id) for seq, entry_id in rows}


def test_canonical_form_is_sorted_compact_utf8_json_with_the_previous_hash() -> None:
    entry = AuditEntry("transaction", "report_loss", "1001", "511102001", "03", "2026-11-27T09:00:00+08:00",
                       "h:ab", "已受理", "A1", "e1")  # fmt: skip
    text = canonical(entry, GENESIS_HASH).decode("utf-8")
    assert text.startswith(
        '{"acceptance_number":"A1","counter_number":"03","entry_id":"e1","event":"transaction"'
    )
    assert '"prev":"' + GENESIS_HASH + '"' in text and '"result":"已受理"' in text and " " not in text
    assert len(entry_hash(entry, GENESIS_HASH)) == 64


def test_an_intact_chain_verifies_and_its_head_rides_on_every_outbox_message(chained: Store) -> None:
    report = chained.verify_audit()
    assert report.intact and report.entries == 6
    assert report.head == chained.audit_head()
    ids = _entry_ids(chained)
    with chained.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT acceptance_number, seq FROM audit_entries")).all()
    heads = {str(number): int(seq) for number, seq in rows}
    for message in chained.outbox.messages():
        assert message.audit_head.seq == heads[str(message.acceptance_number)]
    assert len(ids) == 6


def test_an_edited_entry_is_found(chained: Store) -> None:
    _sql(chained, "UPDATE audit_entries SET result = 'refused' WHERE seq = 3")
    report = chained.verify_audit()
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (3, BreakKind.EDITED)
    assert report.first_break.entry_id == _entry_ids(chained)[3]
    assert "被修改" in report.first_break.message


def test_an_edited_entry_with_its_own_hash_recomputed_breaks_the_next_link(chained: Store) -> None:
    with chained.engine.begin() as connection:
        row = connection.execute(sa.text("SELECT * FROM audit_entries WHERE seq = 3")).one()._mapping
        fields = {k: row[k] for k in AuditEntry.__dataclass_fields__}
        forged = AuditEntry(**{**fields, "operator_number": "9999"})
        connection.execute(
            sa.text("UPDATE audit_entries SET operator_number = '9999', entry_hash = :h WHERE seq = 3"),
            {"h": entry_hash(forged, row["prev_hash"])},
        )
    report = chained.verify_audit()
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (4, BreakKind.MISSING)


def test_a_deleted_entry_is_found(chained: Store) -> None:
    _sql(chained, "DELETE FROM audit_entries WHERE seq = 3")
    report = chained.verify_audit()
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (4, BreakKind.MISSING)
    assert "删除" in report.first_break.message


def test_a_deleted_first_entry_is_found(chained: Store) -> None:
    _sql(chained, "DELETE FROM audit_entries WHERE seq = 1")
    report = chained.verify_audit()
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.MISSING)


def test_reordered_entries_are_found(chained: Store) -> None:
    _sql(
        chained,
        "UPDATE audit_entries SET seq = -1 WHERE seq = 3",
        "UPDATE audit_entries SET seq = 3 WHERE seq = 5",
        "UPDATE audit_entries SET seq = 5 WHERE seq = -1",
    )
    report = chained.verify_audit()
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (3, BreakKind.REORDERED)
    assert "顺序" in report.first_break.message


def test_truncation_is_found_against_the_servers_head(chained: Store) -> None:
    server_head = chained.audit_head()
    assert server_head is not None and chained.verify_against_head(server_head).intact
    _sql(chained, "DELETE FROM audit_entries WHERE seq >= 5")
    assert chained.verify_audit().intact  # invisible locally …
    report = chained.verify_against_head(server_head)  # … but not against the head the server keeps
    assert report.first_break is not None and report.first_break.kind is BreakKind.TRUNCATED


def test_a_recomputed_chain_is_found_against_the_servers_head(chained: Store) -> None:
    server_head = chained.audit_head()
    assert server_head is not None
    with chained.engine.begin() as connection:  # edit entry 2, then re-chain everything after it
        rows = [r._mapping for r in connection.execute(sa.text("SELECT * FROM audit_entries ORDER BY seq"))]
        prev = GENESIS_HASH
        for row in rows:
            fields = {k: row[k] for k in AuditEntry.__dataclass_fields__}
            if row["seq"] == 2:
                fields["result"] = "refused"
            digest = entry_hash(AuditEntry(**fields), prev)
            connection.execute(
                sa.text(
                    "UPDATE audit_entries SET result = :r, prev_hash = :p, entry_hash = :h WHERE seq = :s"
                ),
                {"r": fields["result"], "p": prev, "h": digest, "s": row["seq"]},
            )
            prev = digest
    assert chained.verify_audit().intact
    report = chained.verify_against_head(server_head)
    assert report.first_break is not None and report.first_break.kind is BreakKind.DIVERGED


def test_a_head_the_server_has_that_the_chain_extends_is_fine(chained: Store) -> None:
    with chained.engine.connect() as connection:
        hash2 = connection.execute(sa.text("SELECT entry_hash FROM audit_entries WHERE seq = 2")).scalar_one()
    early = AuditHead(2, hash2)
    chained.record(make_record("A7", minutes=7))
    assert chained.verify_against_head(early).intact


def _verify_cli(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "counter_app", "audit", "verify", "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_audit_verify_command_reports_intact_then_the_first_broken_link(
    store_path: Path, chained: Store
) -> None:
    ok = _verify_cli(store_path.parent)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "本地审计链完整" in ok.stdout and "记录数：6" in ok.stdout and "尚无" in ok.stdout

    _sql(
        chained,
        "UPDATE audit_entries SET holder_ref = 'p2' WHERE seq = 4",
        "DELETE FROM audit_entries WHERE seq = 2",
    )
    broken = _verify_cli(store_path.parent)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "审计链已损坏" in broken.stdout and "第 3 条" in broken.stdout and "删除" in broken.stdout


def test_audit_verify_command_checks_the_last_acknowledged_head(store_path: Path, chained: Store) -> None:
    head = chained.audit_head()
    assert head is not None
    chained.record_acknowledged_head(head)
    assert chained.last_acknowledged_head() == head
    ok = _verify_cli(store_path.parent)
    assert ok.returncode == 0 and "仍延伸中心确认的链头" in ok.stdout, ok.stdout
    _sql(chained, "DELETE FROM audit_entries WHERE seq = 6")
    truncated = _verify_cli(store_path.parent)
    assert truncated.returncode == 1 and "截断" in truncated.stdout, truncated.stdout


def test_audit_verify_command_without_a_database_says_so(tmp_path: Path) -> None:
    missing = _verify_cli(tmp_path / "nowhere")
    assert missing.returncode == 2 and "找不到本地数据库" in missing.stdout


def test_counter_app_help_still_works_and_names_audit() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "counter_app", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "柜面业务系统" in help_text and "audit" in help_text


EDITABLE = ("operator_number", "result", "holder_ref", "occurred_at", "item_code", "prev_hash", "entry_hash")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.integers(min_value=3, max_value=8), data=st.data())
def test_any_single_edit_deletion_or_swap_is_found_where_it_happened(
    length: int, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from([BreakKind.EDITED, BreakKind.MISSING, BreakKind.REORDERED]))
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "s.sqlite") as store:
        for i in range(1, length + 1):
            store.record(make_record(f"H{i}", minutes=i))
        if kind is BreakKind.EDITED:
            seq = data.draw(st.integers(1, length))
            column = data.draw(st.sampled_from(EDITABLE))
            _sql(store, f"UPDATE audit_entries SET {column} = {column} || 'x' WHERE seq = {seq}")
            expected = seq
        elif kind is BreakKind.MISSING:
            deleted = data.draw(st.integers(1, length - 1))  # deleting the last one is truncation
            _sql(store, f"DELETE FROM audit_entries WHERE seq = {deleted}")
            expected = deleted + 1
        else:
            first = data.draw(st.integers(1, length - 1))
            second = data.draw(st.integers(first + 1, length))
            _sql(
                store,
                f"UPDATE audit_entries SET seq = -1 WHERE seq = {first}",
                f"UPDATE audit_entries SET seq = {first} WHERE seq = {second}",
                f"UPDATE audit_entries SET seq = {second} WHERE seq = -1",
            )
            expected = first
        report = store.verify_audit()
        assert report.first_break is not None
        assert (report.first_break.seq, report.first_break.kind) == (expected, kind)
