"""Settings of one counter (柜台配置): where it is, which server, which devices.

A counter is configured by a ``counter.toml`` in its configuration folder (written by city IT or,
later, by counter enrolment). With no configuration the program starts in 培训模式 (training
mode) with everything embedded. A counter that was ever configured keeps a marker in its data
folder and refuses to fall back to training mode when its configuration goes missing: a clerk
must never serve real citizens on training data without noticing.
"""

from __future__ import annotations

import enum
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APP_DIR_NAME = "leshan-sscard"
CONFIG_FILE_NAME = "counter.toml"
CONFIGURED_MARKER = "configured-counter"

PAPER_PROFILES = ("a4_two_part", "a5", "slip_80mm")


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to do, in Chinese."""


class Mode(enum.Enum):
    """正式 (production) or 培训 (training)."""

    PRODUCTION = "production"
    TRAINING = "training"


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to wire one counter."""

    mode: Mode
    config_file: Path | None
    data_dir: Path
    server_url: str | None = None
    ca_bundle: str | None = None
    outlet_code: str = "TRAIN01"
    counter_number: str = "01"
    card_reader_pattern: str = ""
    psam_reader_pattern: str = ""
    pinpad_port: str = ""
    #: A vendor 密码键盘 behind its helper process: the helper's command line (wins over the port).
    pinpad_helper: str = ""
    #: ``reader``: the card reader's own keypad (PC/SC Part 10 secure PIN entry); "" for the others.
    pinpad: str = ""
    printer: str = ""
    paper_profile: str = "a4_two_part"

    @property
    def training(self) -> bool:
        return self.mode is Mode.TRAINING


def _platform_dir(env_override: str, windows_var: str, xdg_var: str, xdg_default: str) -> Path:
    override = os.environ.get(env_override)
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get(windows_var, Path.home())) / APP_DIR_NAME
    return Path(os.environ.get(xdg_var) or Path.home() / xdg_default) / APP_DIR_NAME


def config_dir() -> Path:
    """The configuration folder (``COUNTER_APP_CONFIG_DIR`` overrides it)."""
    return _platform_dir("COUNTER_APP_CONFIG_DIR", "APPDATA", "XDG_CONFIG_HOME", ".config")


def data_dir() -> Path:
    """The data folder: local database, logs, archive (``COUNTER_APP_DATA_DIR`` overrides it)."""
    return _platform_dir("COUNTER_APP_DATA_DIR", "LOCALAPPDATA", "XDG_DATA_HOME", ".local/share")


def _require_str(section: dict[str, Any], key: str, path: Path) -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"配置文件 {path} 缺少 [counter] {key}，请联系信息科补全配置。")
    return value.strip()


def _pinpad_kind(devices: dict[str, Any], path: Path) -> str:
    kind = str(devices.get("pinpad", "")).strip()
    if kind not in ("", "serial", "vendor", "reader"):
        raise ConfigError(
            f"配置文件 {path} 的 [devices] pinpad = {kind!r} 无效，可选：serial（串口密码键盘）、"
            "vendor（厂商密码键盘，配 pinpad_helper）、reader（读卡器自带密码键盘）。"
        )
    return kind


def _parse(path: Path, data_root: Path) -> Settings:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"配置文件 {path} 无法读取（{exc}），请联系信息科。") from exc
    counter = raw.get("counter")
    if not isinstance(counter, dict):
        raise ConfigError(f"配置文件 {path} 缺少 [counter] 一节，请联系信息科补全配置。")
    devices = raw.get("devices", {})
    printing = raw.get("printing", {})
    server_url = _require_str(counter, "server_url", path)
    if not server_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"配置文件 {path} 的 server_url 必须使用 https:// 地址。")
    paper = str(printing.get("paper_profile", "a4_two_part"))
    if paper not in PAPER_PROFILES:
        raise ConfigError(f"配置文件 {path} 的纸张类型 {paper} 无效，可选：{'、'.join(PAPER_PROFILES)}。")
    return Settings(
        mode=Mode.PRODUCTION,
        config_file=path,
        data_dir=data_root,
        server_url=server_url,
        ca_bundle=counter.get("ca_bundle"),
        outlet_code=_require_str(counter, "outlet_code", path),
        counter_number=_require_str(counter, "counter_number", path),
        card_reader_pattern=str(devices.get("card_reader", "")),
        psam_reader_pattern=str(devices.get("psam_reader", "")),
        pinpad_port=str(devices.get("pinpad_port", "")),
        pinpad_helper=str(devices.get("pinpad_helper", "")),
        pinpad=_pinpad_kind(devices, path),
        printer=str(printing.get("printer", "")),
        paper_profile=paper,
    )


def load_settings(config_root: Path | None = None, data_root: Path | None = None) -> Settings:
    """Read this counter's settings; training mode when it was never configured."""
    config_root = config_root or config_dir()
    data_root = data_root or data_dir()
    path = config_root / CONFIG_FILE_NAME
    marker = data_root / CONFIGURED_MARKER
    if path.exists():
        settings = _parse(path, data_root)
        data_root.mkdir(parents=True, exist_ok=True)
        if not marker.exists():
            marker.write_text(f"{settings.outlet_code}/{settings.counter_number}\n", encoding="utf-8")
        return settings
    if marker.exists():
        raise ConfigError(
            f"本机曾配置为正式柜台（{marker.read_text(encoding='utf-8').strip()}），"
            f"但找不到配置文件 {path}。为防止误用培训数据，系统不会进入培训模式；请联系信息科恢复配置。"
        )
    return Settings(mode=Mode.TRAINING, config_file=None, data_dir=data_root / "training")
