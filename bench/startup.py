"""Start-up of ``counter-app`` in 培训模式, measured from outside (启动基准).

Launches the real ``counter-app`` as a subprocess (offscreen, or a real X window under
``xvfb-run`` with ``--xvfb``) with empty configuration and data folders, so it starts in training
mode; the program writes its milestones to ``COUNTER_APP_TIMING`` and runs the scripted session
of ``counter_app.ui.timing_script`` (insert a test card at once; once the server answers, swap
cards ten times), then quits. Prints, beside the goals, the time from process start to:

- the main window painted (goal ≤ 1.5 s);
- the embedded central server answering (seeded database built on the first run, then cached);
- the emulated card read (panel filled);
- and the longest event-loop stall (5 ms QTimer heartbeat) while a card is read (goal ≤ 50 ms).

The first run uses empty folders (cold: the training database is built); the others reuse its data
folder (warm: the cached database is copied). Medians over the warm runs. Not a test: it prints.

    .venv/bin/python bench/startup.py [--runs 6] [--xvfb]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COUNTER_APP = Path(sys.executable).with_name("counter-app")

ROWS = (
    ("window_shown", "主窗口显示 window shown", "s", 1.5),
    ("server_answering", "内置服务器应答 embedded server answering", "s", None),
    ("card_readable", "模拟卡已读出 emulated card readable", "s", None),
    ("card_read_stall_ms", "读卡时最长卡顿 longest stall while a card is read", "ms", 50.0),
    ("card_read_stall_startup_ms", "  (启动期间读卡 the read during start-up)", "ms", None),
    (
        "max_stall_until_server_ms",
        "  (服务器启动期间最长卡顿 any stall until the server answers)",
        "ms",
        None,
    ),
)


def run_once(data_root: Path, *, xvfb: bool) -> dict[str, float]:
    timing = data_root / "timing.log"
    timing.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(
        COUNTER_APP_CONFIG_DIR=str(data_root / "config"),
        COUNTER_APP_DATA_DIR=str(data_root / "data"),
        COUNTER_APP_TIMING=str(timing),
        COUNTER_APP_TIMING_SCRIPT="card",
        COUNTER_APP_STRICT_THREADS="1",
    )
    command = [str(COUNTER_APP)]
    if xvfb:
        env.pop("QT_QPA_PLATFORM", None)
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *command]
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    started = time.time()
    result = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    if result.returncode != 0 or not timing.exists():
        raise SystemExit(f"counter-app failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    marks: dict[str, float] = {}
    for line in timing.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(" ")
        number = float(value)
        marks[name] = number - started if number > 1e9 else number
    if "script_done" not in marks:
        raise SystemExit(f"the scripted session did not finish: {marks}\n{result.stderr[-2000:]}")
    return marks


def _pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (a CJK character takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - columns)


def _fmt(value: float, unit: str) -> str:
    return f"{value:.2f} s" if unit == "s" else f"{value:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=6, help="runs in all; the first is cold (default 6)")
    parser.add_argument(
        "--xvfb", action="store_true", help="a real X window under xvfb-run (default offscreen)"
    )
    args = parser.parse_args()
    if args.xvfb and not shutil.which("xvfb-run"):
        raise SystemExit("xvfb-run is not installed")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"counter-app start-up, 培训模式, {'xcb on Xvfb' if args.xvfb else 'offscreen'}; "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} before the runs")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        root = Path(scratch)
        runs = [run_once(root, xvfb=args.xvfb) for _ in range(max(2, args.runs))]
    cold, warm = runs[0], runs[1:]
    print(f"\n{_pad('', 62)}{'goal':>9}{'warm median':>13}{'min':>9}{'max':>9}{'cold':>9}")
    for key, label, unit, goal in ROWS:
        values = [r[key] for r in warm if key in r]
        if not values:
            continue
        median = statistics.median(values)
        verdict = "" if goal is None else ("  ok" if max(values) <= goal else "  OVER")
        goal_text = "" if goal is None else ("≤ " + _fmt(goal, unit))
        print(
            f"{_pad(label, 62)}{goal_text:>9}{_fmt(median, unit):>13}{_fmt(min(values), unit):>9}"
            f"{_fmt(max(values), unit):>9}{_fmt(cold.get(key, float('nan')), unit):>9}{verdict}"
        )
    print(f"\nwarm runs: {len(warm)}; the cold run built the seeded training database first.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
