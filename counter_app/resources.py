"""Where the program's data files live (catalogs, 行政区划, 民族, fonts, forms, translations).

The `resources/` folder sits beside the package in a source checkout; an installer may put it
elsewhere and say so with ``COUNTER_APP_RESOURCES``. Frozen builds (PyInstaller) unpack it under
``sys._MEIPASS``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

ENV_VAR = "COUNTER_APP_RESOURCES"


@cache
def resources_root() -> Path:
    """The folder that holds the program's data files."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of one data file, e.g. ``resource_path("catalog", "service_items.toml")``."""
    path = resources_root().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"资源文件缺失: {path} (安装不完整, 请联系信息科)")
    return path


def load_toml(*parts: str) -> dict[str, Any]:
    """Read one TOML data file from the resources folder."""
    with resource_path(*parts).open("rb") as fh:
        return tomllib.load(fh)
