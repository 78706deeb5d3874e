"""The counter's secrets in the real Secret Service (gnome-keyring on a private D-Bus), not in memory:
the store key, the counter credential and the receipt key, used end to end against the real server."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService

from counter_app.store.keys import KEYRING_SERVICE, KEYRING_USERNAME
from counter_app.sync.credentials import CREDENTIAL_USERNAME, RECEIPT_KEY_USERNAME
from tests.sync.helpers import open_counter, record_change_contact, seeder, sign_in
from tests.sync.server import CentralProcess

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def test_enrolment_sign_in_and_relay_with_the_secret_service(
    secret_service: KeyringBackend, central: CentralProcess, central_db: str, tmp_path: Path
) -> None:
    assert isinstance(keyring.get_keyring(), SecretService.Keyring)
    api, db = seeder(central_db)
    person = api.person()
    db.dispose()
    counter = open_counter(central.url, tmp_path / "counter")
    try:
        for username in (KEYRING_USERNAME, CREDENTIAL_USERNAME, RECEIPT_KEY_USERNAME):
            assert secret_service.get_password(KEYRING_SERVICE, username), username
        assert secret_service.get_password(KEYRING_SERVICE, CREDENTIAL_USERNAME).startswith("511102001-01.")  # type: ignore[union-attr]
        sign_in(counter)
        record_change_contact(counter.store, person, "13600006666")
        assert counter.sync.relay.drain().acknowledged == 1
        assert len(counter.sync.receipt_code("511102001-01-20261127-0001")) == 16
    finally:
        counter.close()
    counter.sync.credentials.forget()
    assert secret_service.get_password(KEYRING_SERVICE, CREDENTIAL_USERNAME) is None
