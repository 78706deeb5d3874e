"""The services tests run against: each knows how to start, wait for, describe and stop itself."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path


class ServiceFailed(RuntimeError):
    """A service could not be started; the message says why and where its log is."""


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, alive: Callable[[], bool]) -> None:
    """Poll ``check`` until it is true; fail early when the process died or after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # not ready yet; keep polling
            pass
        if not alive():
            raise ServiceFailed(f"{what}: the process exited during start-up")
        if time.monotonic() > deadline:
            raise ServiceFailed(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(0.05)


def free_tcp_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Service(ABC):
    """One service. ``start`` returns the environment variables that tell tests how to reach it."""

    name: str

    def __init__(self) -> None:
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def start(self) -> dict[str, str]: ...

    def stop(self) -> None:
        """Stop what ``start`` started (and only that); remove its work folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    stop_signal: int = signal.SIGTERM

    def _alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _mkworkdir(self) -> Path:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"counter-test-{self.name}-"))
        return self.workdir


# ---------------------------------------------------------------------------------------------


VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
PCSCD_LOCK = Path(tempfile.gettempdir()) / "counter-test-pcscd.lock"  # one test run at a time (Pcscd)
PCSCD_PIDFILE = Path("/run/pcscd/pcscd.pid")


def vpcd_reader_names() -> tuple[str, str]:
    """The two virtual readers vpcd offers: the citizen's card slot and the PSAM slot."""
    friendly = "Virtual PCD"
    with contextlib.suppress(OSError):
        for line in VPCD_CONF.read_text().splitlines():
            if line.startswith("FRIENDLYNAME"):
                friendly = line.split(None, 1)[1].strip().strip('"')
    return f"{friendly} 00 00", f"{friendly} 00 01"


def vpcd_port() -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in VPCD_CONF.read_text().splitlines():
            if line.startswith("CHANNELID"):
                return int(line.split()[1], 0)
    return 0x8C7B


def pcsc_readers() -> list[str]:
    from smartcard.System import readers

    return [str(r) for r in readers()]


def running_pcscd_pid() -> int | None:
    """The pid of a pcscd already running on this machine, if any."""
    try:
        pid = int(PCSCD_PIDFILE.read_bytes().replace(b"\0", b"").strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid if PCSCD_SOCKET.exists() else None


class Pcscd(Service):
    """The real PC/SC daemon with the vsmartcard-vpcd virtual reader driver.

    There is one pcscd per machine. When one is already running (a developer's desktop), it is
    used as it is and never stopped; it must then offer the vpcd readers.
    """

    name = "pcscd"
    _lock: int | None = None

    def start(self) -> dict[str, str]:
        self._take_machine_lock()
        try:
            return self._start()
        except BaseException:
            self._release_machine_lock()
            raise

    def _take_machine_lock(self) -> None:
        """One test run at a time uses the machine's pcscd and the fixed vpcd ports: a second one
        waits here (its readers, cards and restarts would otherwise collide with the first's)."""
        fd = os.open(PCSCD_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("[harness] pcscd: another test run is using it; waiting for it to finish", flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock = fd

    def _release_machine_lock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing drops the flock
            self._lock = None

    def _start(self) -> dict[str, str]:
        if not VPCD_CONF.exists():
            raise ServiceFailed(f"pcscd: {VPCD_CONF} is missing; install vsmartcard-vpcd (make test does)")
        card_reader, psam_reader = vpcd_reader_names()
        env = {
            "COUNTER_TEST_PCSC_CARD_READER": card_reader,
            "COUNTER_TEST_PCSC_PSAM_READER": psam_reader,
            "COUNTER_TEST_VPCD_HOST": "127.0.0.1",
            "COUNTER_TEST_VPCD_PORT": str(vpcd_port()),
        }
        existing = running_pcscd_pid()
        if existing is not None:
            env["COUNTER_TEST_PCSCD_OWNED"] = ""
            present = pcsc_readers()
            if card_reader not in present or psam_reader not in present:
                raise ServiceFailed(
                    f"pcscd: a pcscd (pid {existing}) not started by the tests is running without the "
                    f"vpcd readers (it lists {present}); restart it after installing vsmartcard-vpcd"
                )
            return env
        workdir = self._mkworkdir()
        log = workdir / "pcscd.log"
        self.process = launch_pcscd(log)
        env["COUNTER_TEST_PCSCD_OWNED"] = "1"
        env["COUNTER_TEST_PCSCD_LOG"] = str(log)
        try:
            wait_until(
                lambda: {card_reader, psam_reader} <= set(pcsc_readers()),
                timeout=15,
                what="pcscd",
                alive=self._alive,
            )
        except ServiceFailed as exc:
            tail = log_tail(log)
            self.stop()
            raise ServiceFailed(f"{exc}\n{tail}") from None
        return env

    def stop(self) -> None:
        """Stop our pcscd, and one a test restarted in its place (never one we did not start)."""
        ours = self.process is not None
        try:
            super().stop()
            if ours:
                stop_running_pcscd()
        finally:
            self._release_machine_lock()


def launch_pcscd(log: Path) -> subprocess.Popen[bytes]:
    """Start ``pcscd --foreground`` logging to ``log``."""
    pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
    with log.open("ab") as out:
        # Never --apdu: its log would hold PINs (DESIGN.md, "PINs never touch disk or logs").
        return subprocess.Popen([pcscd, "--foreground"], stdout=out, stderr=subprocess.STDOUT)


def stop_running_pcscd(timeout: float = 10.0) -> None:
    """SIGTERM the machine's pcscd and wait until its socket is gone."""
    pid = running_pcscd_pid()
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while PCSCD_SOCKET.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def restart_pcscd(env: dict[str, str], downtime: float = 0.5) -> subprocess.Popen[bytes]:
    """Stop the test pcscd and start a new one (tests of recovery). Only a pcscd the harness owns."""
    if not env.get("COUNTER_TEST_PCSCD_OWNED"):
        raise ServiceFailed("pcscd: it was not started by the test harness, so a test may not restart it")
    stop_running_pcscd()
    time.sleep(downtime)
    log = Path(env.get("COUNTER_TEST_PCSCD_LOG") or tempfile.mktemp(prefix="pcscd-restart-", suffix=".log"))
    return launch_pcscd(log)


# ---------------------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """The newest installed PostgreSQL server's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    raise ServiceFailed("postgres: no PostgreSQL server installed (make test installs postgresql)")


class Postgres(Service):
    """A throw-away PostgreSQL cluster on a private port and socket folder.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the unprivileged user
    ``nobody``; otherwise to the current user.
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown
    database = "counter_test"

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        """``settings``: more ``-c name=value`` for the server (a benchmark's production-like memory)."""
        super().__init__()
        self.settings = dict(settings or {})

    def _owner(self) -> tuple[int, int] | None:
        """(uid, gid) to run the cluster as: ``nobody`` when we are root, else None (ourselves)."""
        if os.geteuid() != 0:
            return None
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid

    def start(self) -> dict[str, str]:
        bindir = postgres_bindir()
        workdir = self._mkworkdir()
        owner = self._owner()
        if owner is not None:
            os.chown(workdir, *owner)
        uid, gid = owner if owner is not None else (None, None)
        groups: list[int] | None = [] if owner is not None else None
        data, log = workdir / "data", workdir / "postgres.log"
        init = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            cwd=workdir,
            check=False,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
        if init.returncode != 0:
            self.stop()
            raise ServiceFailed(f"postgres: initdb failed:\n{init.stdout}\n{init.stderr}")
        port = free_tcp_port()
        with log.open("wb") as out:
            if owner is not None:
                os.chown(log, *owner)
            self.process = subprocess.Popen(
                [
                    str(bindir / "postgres"),
                    "-D",
                    str(data),
                    "-k",
                    str(workdir),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                    *(part for name, value in self.settings.items() for part in ("-c", f"{name}={value}")),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                user=uid,
                group=gid,
                extra_groups=groups,
            )
        admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

        def answers() -> bool:
            import psycopg

            with psycopg.connect(admin_url, connect_timeout=2) as conn:
                conn.execute("select 1")
            return True

        try:
            wait_until(answers, timeout=30, what="postgres", alive=self._alive)
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'create database "{self.database}"')
        except Exception as exc:
            tail = log_tail(log)
            self.stop()
            raise ServiceFailed(f"{exc}\n{tail}") from None
        return {
            "COUNTER_TEST_PG_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/{self.database}",
            "COUNTER_TEST_PG_ADMIN_URL": admin_url,
        }


# ---------------------------------------------------------------------------------------------


CUPSD = Path("/usr/sbin/cupsd")
CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")


def _cups_pdf_ppd() -> str:
    """The stock cups-pdf PPD plus defaults that keep its output and scratch files in the work folder.

    cups-pdf reads Out, Spool, Log and GSTmp from the queue's PPD too (``read_config_ppd`` in
    cups-pdf.c; these options may come from a PPD), after /etc/cups/cups-pdf.conf, which is thus
    neither edited nor relied on. CUPS cuts a PPD default at its first "/" (that is where a
    translation string would start), so the values are relative paths: the backend inherits the
    private cupsd's working directory, the work folder, where they are created beforehand.
    """
    extra = []
    for option, value in (("Out", "out"), ("Spool", "pdfspool"), ("Log", "log"), ("GSTmp", "tmp")):
        extra += [
            f"*OpenUI *{option}/{option}: PickOne",
            f"*Default{option}: {value}",
            f'*{option} {value}/{value}: ""',
            f"*CloseUI: *{option}",
            "",
        ]
    return CUPS_PDF_PPD.read_text(encoding="latin-1") + "\n" + "\n".join(extra)


class Cups(Service):
    """A private CUPS scheduler with one cups-pdf queue that writes PDFs into a temporary folder.

    cupsd runs in the foreground with its own ServerRoot, spool, cache, state and logs in the work
    folder and listens only on a Unix socket there; clients reach it with ``lp -h <socket>`` or
    ``CUPS_SERVER=<socket>``. The machine's cupsd and /etc/cups are never touched. cups-pdf runs as
    root (its backend is mode 0700), so this needs root, as CI has.
    """

    name = "cups"
    queue = "counter-test-pdf"

    def start(self) -> dict[str, str]:
        for needed in (CUPSD, CUPS_PDF_BACKEND, CUPS_PDF_PPD):
            if not needed.exists():
                raise ServiceFailed(f"cups: {needed} is missing; install cups and printer-driver-cups-pdf")
        if os.geteuid() != 0:
            raise ServiceFailed(
                "cups: the cups-pdf backend runs only as root; run the tests as root (CI does)"
            )
        base = "/tmp" if Path("/tmp").is_dir() else None
        self.workdir = Path(tempfile.mkdtemp(prefix="ctcups-", dir=base))
        workdir = self.workdir
        workdir.chmod(0o755)  # filters run as user lp and must reach the spool
        for sub in (
            "etc",
            "etc/ppd",
            "spool",
            "spool/tmp",
            "cache",
            "state",
            "log",
            "tmp",
            "out",
            "pdfspool",
        ):
            (workdir / sub).mkdir(mode=0o755, exist_ok=True)
        (workdir / "tmp").chmod(0o1777)
        socket_path = workdir / "cups.sock"
        etc = workdir / "etc"
        (etc / "cupsd.conf").write_text(
            f"""LogLevel warn
Listen {socket_path}
Browsing No
WebInterface No
DefaultAuthType None
PreserveJobHistory Yes
PreserveJobFiles No
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""
        )
        (etc / "cups-files.conf").write_text(
            f"""ServerRoot {etc}
RequestRoot {workdir / "spool"}
TempDir {workdir / "spool" / "tmp"}
CacheDir {workdir / "cache"}
StateDir {workdir / "state"}
ErrorLog {workdir / "log" / "error_log"}
AccessLog {workdir / "log" / "access_log"}
PageLog {workdir / "log" / "page_log"}
ServerBin /usr/lib/cups
DataDir /usr/share/cups
FileDevice No
SystemGroup root
Sandboxing Relaxed
"""
        )
        ppd = workdir / "cups-pdf.ppd"
        ppd.write_text(_cups_pdf_ppd(), encoding="latin-1")
        log = workdir / "log" / "cupsd.out"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(CUPSD), "-f", "-c", str(etc / "cupsd.conf"), "-s", str(etc / "cups-files.conf")],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=workdir,  # the backend's working directory: cups-pdf's relative paths live here
            )
        env = dict(os.environ, LC_ALL="C", CUPS_SERVER=str(socket_path))

        def running() -> bool:
            out = subprocess.run(
                ["lpstat", "-r"], env=env, capture_output=True, text=True, timeout=5, check=False
            )
            return "scheduler is running" in out.stdout

        try:
            wait_until(running, timeout=20, what="cups", alive=self._alive)
            added = subprocess.run(
                # cups-pdf turns PostScript into PDF with Ghostscript; PostScript made by pdftocairo
                # keeps the text extractable (the default renderer leaves glyphs without Unicode)
                [
                    "lpadmin",
                    "-p",
                    self.queue,
                    "-E",
                    "-v",
                    "cups-pdf:/",
                    "-P",
                    str(ppd),
                    "-o",
                    "pdftops-renderer-default=pdftocairo",
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
            if added.returncode != 0:
                raise ServiceFailed(f"cups: lpadmin failed: {added.stdout} {added.stderr}")
        except Exception as exc:
            tail = log_tail(workdir / "log" / "error_log") + "\n" + log_tail(log)
            self.stop()
            raise ServiceFailed(f"{exc}\n{tail}") from None
        return {
            "COUNTER_TEST_CUPS_SERVER": str(socket_path),
            "COUNTER_TEST_CUPS_QUEUE": self.queue,
            "COUNTER_TEST_CUPS_OUTDIR": str(workdir / "out"),
        }


SERVICES: dict[str, type[Service]] = {"pcscd": Pcscd, "postgres": Postgres, "cups": Cups}


def failed_env_var(name: str) -> str:
    """Where the runner records that it could not start a service (tests then fail with this)."""
    return f"COUNTER_TEST_FAILED_{name.upper()}"


def started_env_var(name: str) -> str:
    return f"COUNTER_TEST_STARTED_{name.upper()}"
