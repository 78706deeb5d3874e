"""``counter-app`` started as a user would, on a real X display: the window opens in 培训模式 and
the full training mode comes up behind it (embedded server answering), with the GUI-thread guard
strict: a blocking device or network call on the GUI thread would have raised."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.gui]

COUNTER_APP = Path(sys.executable).with_name("counter-app")


def test_unconfigured_counter_app_opens_with_the_training_banner_and_starts_training_mode(
    tmp_path: Path,
) -> None:
    assert shutil.which("xvfb-run"), "xvfb-run missing: make test installs xvfb"
    report_file = tmp_path / "startup.json"
    subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
         sys.executable, "-m", "tests.ui.startup_probe", str(report_file), str(COUNTER_APP)],
        check=True, timeout=180, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["window"], f"no 培训模式 window appeared; program output:\n{report.get('log')}"
    assert report["banner_rows"] >= 20, (
        f"banner not visible in the screenshot {report_file.with_suffix('.png')}"
    )
    marks = report["marks"]
    assert "window_shown" in marks, report.get("log")
    assert "server_answering" in marks, f"the embedded server did not answer; output:\n{report.get('log')}"
    assert marks["window_shown"] < marks["server_answering"]  # the window does not wait for the server
