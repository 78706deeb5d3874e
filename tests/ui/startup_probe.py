"""Run under xvfb-run by test_startup.py: start ``counter-app``, find its window, look at it.

Writes a JSON report: whether a top-level window with the training title appeared, how long it
took, how many rows near the top of the window are painted in the banner colour (from a real
screenshot of the X display), and the program's own timing log (``COUNTER_APP_TIMING``): when the
window was painted and when the embedded training server answered. Kills the program afterwards.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BANNER_RGB = (0xB7, 0x1C, 0x1C)


def find_window(title_fragment: str) -> tuple[str, int, int, int, int] | None:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=False).stdout
    for line in tree.splitlines():
        if title_fragment in line:
            m = re.search(r"(0x[0-9a-f]+) .*?(\d+)x(\d+)\+(-?\d+)\+(-?\d+)\s+\+(-?\d+)\+(-?\d+)", line)
            if m:
                wid, w, h = m.group(1), int(m.group(2)), int(m.group(3))
                x, y = int(m.group(6)), int(m.group(7))  # absolute position
                return wid, x, y, w, h
    return None


def wait_for_mark(
    timing: Path, name: str, started: float, app: subprocess.Popen[bytes], limit: float = 60
) -> dict[str, float]:
    """The program's timing marks once ``name`` is among them (or the limit passes)."""
    marks: dict[str, float] = {}
    while time.monotonic() - started < limit and app.poll() is None:
        if timing.exists():
            marks = {}
            for line in timing.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition(" ")
                marks[key] = float(value)
            if name in marks:
                break
        time.sleep(0.1)
    return marks


def main() -> int:
    out = Path(sys.argv[1])
    app_cmd = sys.argv[2:]
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # a real xcb window, not offscreen
    timing = out.with_suffix(".timing")
    env["COUNTER_APP_TIMING"] = str(timing)
    env["COUNTER_APP_STRICT_THREADS"] = "1"  # a blocking call on the GUI thread would raise
    started_wall = time.time()
    started = time.monotonic()
    app = subprocess.Popen(app_cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    report: dict[str, object] = {"window": False}
    try:
        found = None
        while time.monotonic() - started < 60 and app.poll() is None:
            found = find_window("培训模式")
            if found:
                break
            time.sleep(0.1)
        if found is None:
            report["exit_code"] = app.poll()
            return 0
        report["window"] = True
        report["seconds_to_window"] = round(time.monotonic() - started, 3)
        marks = wait_for_mark(timing, "server_answering", started, app)
        report["marks"] = {name: round(value - started_wall, 3) for name, value in marks.items()}
        time.sleep(0.5)  # let the status bar's last change paint
        from PIL import ImageGrab

        _, x, y, w, h = found
        shot = ImageGrab.grab(bbox=(x, y, x + w, y + h), xdisplay=os.environ["DISPLAY"]).convert("RGB")
        shot.save(out.with_suffix(".png"))
        banner_rows = 0
        for py in range(0, min(120, shot.height)):  # below the menu bar: the banner's rows
            row = [shot.getpixel((px, py)) for px in range(0, shot.width, 4)]
            if sum(1 for p in row if p == BANNER_RGB) / len(row) > 0.8:
                banner_rows += 1
        report["banner_rows"] = banner_rows
        report["window_size"] = [w, h]
    finally:
        app.terminate()
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
        report["log"] = app.stdout.read().decode(errors="replace")[-2000:] if app.stdout else ""
        out.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
