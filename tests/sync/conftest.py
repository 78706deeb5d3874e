"""Fixtures of the sync tests: a real central server on PostgreSQL per module, an in-memory keyring,
and the real Secret Service (a private D-Bus with gnome-keyring) for the one test that needs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from tests.central.conftest import create_pg_database, drop_pg_database, pg_admin, prepare
from tests.harness.fixtures import ServiceBroker
from tests.store.memory_keyring import MemoryKeyring
from tests.sync.server import CentralProcess


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every sync test runs with an empty keyring in memory (never keyrings.alt), restored after."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def central_db(services: ServiceBroker, postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database of this module with the training outlets, counters and operators."""
    admin = pg_admin(services)
    name = f"sync_{uuid.uuid4().hex[:10]}"
    url = create_pg_database(admin, postgres_url, name)
    prepare(url)
    yield url
    drop_pg_database(admin, name)


@pytest.fixture(scope="module")
def central(central_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralProcess]:
    """The real server on that database (one per module), stopped after; its log must stay clean."""
    server = CentralProcess(central_db, tmp_path_factory.mktemp("central") / "server.log")
    server.start()
    yield server
    server.stop()
    bad = server.bad_lines()
    assert not bad, "the server log has errors:\n" + "\n".join(bad)


# --------------------------------------------------------------------------------------------
# The real Secret Service (gui-print.md §7): private dbus-daemon + gnome-keyring-daemon --unlock
# --------------------------------------------------------------------------------------------


#: A session bus without service activation: the stock one would start a second, locked
#: gnome-keyring-daemon when a client asks before ours owns org.freedesktop.secrets.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir={folder}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _wait_for_login_collection() -> None:
    """Until the daemon's default collection (login) exists and is unlocked: asking the backend earlier
    makes the daemon try to create one through a prompt, which fails without a display ("Prompt
    dismissed") and keeps failing."""
    import secretstorage

    last: Exception | None = None
    for _ in range(200):
        try:
            connection = secretstorage.dbus_init()
            try:
                if not secretstorage.get_collection_by_alias(connection, "default").is_locked():
                    return
            finally:
                connection.close()
        except Exception as exc:
            last = exc
        time.sleep(0.05)
    pytest.fail(f"gnome-keyring-daemon did not unlock its login collection on the private bus: {last!r}")


@pytest.fixture
def secret_service() -> Iterator[KeyringBackend]:
    """keyring's SecretService backend on a private session bus; fails (never skips) without the daemons."""
    for program in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is not installed (apt-get install gnome-keyring dbus-daemon dbus-bin)")
    home = tempfile.mkdtemp(prefix="kr-home-")
    config = Path(home) / "session.conf"
    config.write_text(_BUS_CONFIG.format(folder=home))
    bus = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert bus.stdout is not None
    address = bus.stdout.readline().strip()
    saved = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_DATA_HOME")}
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address, HOME=home, XDG_DATA_HOME=f"{home}/.local/share")
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert daemon.stdin is not None and daemon.stdout is not None
    daemon.stdin.write("test-password")
    daemon.stdin.close()
    ready = daemon.stdout.readline()  # its environment, printed once it listens
    if "GNOME_KEYRING_CONTROL" not in ready:
        pytest.fail(f"gnome-keyring-daemon did not start: {ready!r}")
    os.environ.update(DBUS_SESSION_BUS_ADDRESS=address, HOME=home, XDG_DATA_HOME=f"{home}/.local/share")
    previous = keyring.get_keyring()
    try:
        from keyring.backends import SecretService

        _wait_for_login_collection()
        backend = SecretService.Keyring()  # type: ignore[no-untyped-call]
        keyring.set_keyring(backend)
        yield backend
    finally:
        keyring.set_keyring(previous)
        for process in (daemon, bus):
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(home, ignore_errors=True)
