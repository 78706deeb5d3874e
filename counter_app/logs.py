"""Logging, configured once per process (运行日志).

A rotating UTF-8 file in the data folder keeps INFO and above; the console shows warnings. The APDU
trace has its own logger (``counter_app.apdu``) and level, off unless asked for; it redacts PINs.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

APDU_LOGGER = "counter_app.apdu"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
_configured: Path | None = None


def configure_logging(log_dir: Path, *, level: int = logging.INFO, apdu_trace: bool = False) -> Path:
    """Set up the root logger once; return the log file. Later calls change nothing."""
    global _configured
    if _configured is not None:
        return _configured
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "counter-app.log"
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=5_000_000, backupCount=10, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(file_handler)
    root.addHandler(console)
    logging.getLogger(APDU_LOGGER).setLevel(logging.DEBUG if apdu_trace else logging.WARNING)
    logging.captureWarnings(True)
    _configured = log_file
    return log_file
