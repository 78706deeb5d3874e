"""Run under xvfb-run by test_startup.py: start ``counter-app``, find its window, look at it.

Writes a JSON report: whether a top-level window with the training title appeared, how long it
took, and the share of the window's top strip painted in the banner colour (from a real screenshot
of the X display). Kills the program afterwards.
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


def main() -> int:
    out = Path(sys.argv[1])
    app_cmd = sys.argv[2:]
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # a real xcb window, not offscreen
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
        time.sleep(1.0)  # let the first paint land
        from PIL import ImageGrab

        _, x, y, w, h = found
        shot = ImageGrab.grab(bbox=(x, y, x + w, y + min(h, 80)), xdisplay=os.environ["DISPLAY"]).convert(
            "RGB"
        )
        shot.save(out.with_suffix(".png"))
        strip_rows = range(5, min(35, shot.height))
        pixels = [shot.getpixel((px, py)) for py in strip_rows for px in range(0, shot.width, 4)]
        report["banner_share"] = sum(1 for p in pixels if p == BANNER_RGB) / max(1, len(pixels))
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
