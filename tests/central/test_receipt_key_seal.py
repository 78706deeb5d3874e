"""Counter receipt keys sealed at rest (central.core.key_seal): the database never holds one in clear."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from central.app import create_app
from central.core.config import Settings
from central.core.db import Database
from central.core.key_seal import KEY_FILE, KeySeal, SealError
from central.core.security import new_receipt_key
from central.models import CounterRow, OutletRow
from central.services.receipts import seal_plain_keys
from counter_app.domain.receipt_code import qr_text
from tests.central.helpers import HR, Api, counter_credential, stored_receipt_key

OTHER_KEK = base64.b64encode(b"another-16-bytes").decode()


def _all_stored(db: Database) -> list[tuple[str, str, bytes]]:
    with db.read() as session:
        return [
            (code, row.number, row.receipt_key)
            for row, code in session.execute(
                select(CounterRow, OutletRow.code).join(OutletRow, OutletRow.id == CounterRow.outlet_id)
            )
        ]


# --- the seal ------------------------------------------------------------------------------------


def test_a_sealed_key_opens_only_for_its_counter_and_with_its_key() -> None:
    seal = KeySeal(b"k" * 16)
    key = new_receipt_key()
    sealed = seal.seal(key, "511102001", "01")
    assert KeySeal.is_sealed(sealed) and len(sealed) <= 64 and key not in sealed
    assert seal.seal(key, "511102001", "01") != sealed  # a fresh nonce every time
    assert seal.open(sealed, "511102001", "01") == key
    with pytest.raises(SealError):
        seal.open(sealed, "511102001", "02")  # copied onto another counter's row
    with pytest.raises(SealError):
        KeySeal(b"x" * 16).open(sealed, "511102001", "01")
    damaged = sealed[:20] + bytes([sealed[20] ^ 1]) + sealed[21:]
    with pytest.raises(SealError):
        seal.open(damaged, "511102001", "01")
    assert seal.open(key, "511102001", "01") == key  # a plain (legacy) key reads as it is
    with pytest.raises(SealError):
        seal.open(b"short", "511102001", "01")


def test_the_key_comes_from_the_setting_or_a_private_file_made_once(tmp_path: Path) -> None:
    assert KeySeal.load(OTHER_KEK, tmp_path).seal  # configured: no file is made
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(ValueError, match="CENTRAL_RECEIPT_SEAL_KEY"):
        KeySeal.load("not base64!", tmp_path)
    with pytest.raises(ValueError, match="CENTRAL_RECEIPT_SEAL_KEY"):
        KeySeal.load(base64.b64encode(b"too short").decode(), tmp_path)

    folder = tmp_path / "data"
    with ThreadPoolExecutor(8) as pool:  # servers starting together agree on one key
        seals = list(pool.map(lambda _: KeySeal.load(None, folder), range(8)))
    sealed = seals[0].seal(b"k" * 32, "511102001", "01")
    assert all(s.open(sealed, "511102001", "01") == b"k" * 32 for s in seals)
    mode = stat.S_IMODE(os.stat(folder / KEY_FILE).st_mode)
    assert mode == 0o600
    assert KeySeal.load(None, folder).open(sealed, "511102001", "01") == b"k" * 32  # read again later
    (folder / KEY_FILE).write_text("garbage\n")
    with pytest.raises(ValueError, match=r"receipt-seal\.key"):
        KeySeal.load(None, folder)


# --- the server -----------------------------------------------------------------------------------


def test_a_started_server_holds_no_receipt_key_in_clear(api: Api, settings: Settings) -> None:
    stored = _all_stored(api.db)
    assert stored and all(KeySeal.is_sealed(key) for _, _, key in stored)
    fetched = base64.b64decode(api.client.get("/counters/me/receipt-key").json()["receipt_key"])
    assert len(fetched) == 32
    assert fetched not in stored_receipt_key(api.db, HR[1], HR[2])
    assert settings.receipt_seal().open(stored_receipt_key(api.db, HR[1], HR[2]), HR[1], HR[2]) == fetched
    assert seal_plain_keys(api.db, settings.receipt_seal()) == 0  # nothing left to seal


def test_plain_keys_are_sealed_when_a_server_starts_and_still_sign_the_same_receipts(
    api: Api, settings: Settings
) -> None:
    plain = new_receipt_key()
    with api.db.write() as session:
        counter = session.scalar(
            select(CounterRow)
            .join(OutletRow, OutletRow.id == CounterRow.outlet_id)
            .where(OutletRow.code == HR[1], CounterRow.number == HR[2])
        )
        assert counter is not None
        counter.receipt_key = plain  # as a database from before sealing holds it
    number = api.acceptance_number()
    with TestClient(create_app(settings)) as restarted:  # the start seals it
        stored = stored_receipt_key(api.db, HR[1], HR[2])
        assert KeySeal.is_sealed(stored) and plain not in stored
        assert settings.receipt_seal().open(stored, HR[1], HR[2]) == plain
        answer = api.client.get("/receipts/verify", params={"code": qr_text(plain, number)})
        assert answer.status_code == 200 and answer.json()["valid"] is True
        assert restarted is not None


@pytest.mark.expected_server_errors
def test_a_server_with_another_seal_key_says_so_and_hands_out_nothing(
    api: Api, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = settings.model_copy(update={"receipt_seal_key": OTHER_KEK})
    with TestClient(create_app(wrong)) as other:
        headers = {"X-Counter-Key": counter_credential(HR[1], HR[2])}
        answer = other.get("/counters/me/receipt-key", headers=headers)
    assert answer.status_code == 500
    body = answer.json()
    assert body["code"] == "receipt_key_sealed" and "系统管理员" in body["detail"]
    assert "receipt_key" not in body
    assert any("does not open" in r.getMessage() for r in caplog.records)


def test_enrolling_a_counter_stores_its_key_sealed(tmp_path: Path, central_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": central_url,
        "CENTRAL_DATA_DIR": str(tmp_path),
        "CENTRAL_RECEIPT_SEAL_KEY": OTHER_KEK,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "central.cli",
            "enrol-counter",
            "--outlet",
            HR[1],
            "--counter",
            "77",
            "--create",
        ],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    db = Database(central_url)
    try:
        stored = stored_receipt_key(db, HR[1], "77")
        with db.write() as session:  # the PostgreSQL test database outlives this test
            session.execute(delete(CounterRow).where(CounterRow.receipt_key == stored))
    finally:
        db.dispose()
    assert KeySeal.is_sealed(stored)
    assert len(KeySeal.load(OTHER_KEK, tmp_path).open(stored, HR[1], "77")) == 32
