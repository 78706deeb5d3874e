"""``python -m tests.harness run [--only a,b] -- COMMAND…``: start the services, run, stop them.

Every service is started before the command and stopped after it, whatever happens (failure,
Ctrl-C, SIGTERM). A service that cannot start does not stop the run: its reason is exported so the
tests that need it fail with that reason, and the run's exit code is non-zero. pytest's "no tests
collected" (exit code 5) counts as a failure.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from types import FrameType

from tests.harness.services import SERVICES, Service, ServiceFailed, failed_env_var, started_env_var

PYTEST_NO_TESTS = 5


class _Terminated(Exception):
    pass


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness")
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="start the test services, run COMMAND, stop them")
    run.add_argument("--only", help=f"comma-separated services (default: all of {','.join(SERVICES)})")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    names = [n for n in args.only.split(",") if n] if args.only is not None else list(SERVICES)

    signal.signal(signal.SIGTERM, _on_sigterm)
    started: list[Service] = []
    env = dict(os.environ)
    failures = 0
    try:
        for name in names:
            service = SERVICES[name]()
            print(f"[harness] starting {name} …", flush=True)
            try:
                env.update(service.start())
                env[started_env_var(name)] = "1"
                started.append(service)
                print(f"[harness] {name} is ready", flush=True)
            except ServiceFailed as exc:
                failures += 1
                env[failed_env_var(name)] = str(exc)
                print(f"[harness] could not start {name}: {exc}", file=sys.stderr, flush=True)
        child = subprocess.Popen(command, env=env)
        try:
            rc = child.wait()
        except (KeyboardInterrupt, _Terminated):
            child.send_signal(signal.SIGINT)
            rc = child.wait()
            raise
        if rc == PYTEST_NO_TESTS and "pytest" in " ".join(command):
            print("[harness] pytest collected no tests: that is a failure", file=sys.stderr)
            return 1
        if rc == 0 and failures:
            print(f"[harness] {failures} service(s) failed to start", file=sys.stderr)
            return 1
        return rc
    except (KeyboardInterrupt, _Terminated):
        return 130
    finally:
        for service in reversed(started):
            print(f"[harness] stopping {service.name}", flush=True)
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
