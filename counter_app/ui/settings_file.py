"""Writing a counter's ``counter.toml`` from the settings dialog (柜台配置文件). No Qt here.

The file is the one ``counter_app.config`` reads; what is written is read back with the same
parser before it replaces the old file, so the dialog cannot leave a counter unable to start.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from counter_app.config import CONFIG_FILE_NAME, ConfigError, Settings, load_settings


def _string(value: str) -> str:
    """A TOML basic string (JSON's escapes are a subset TOML accepts)."""
    return json.dumps(value, ensure_ascii=False)


def counter_toml(settings: Settings) -> str:
    lines = [
        "# 柜台配置（由“设置与设备”写入；信息科也可直接编辑）",
        "[counter]",
        f"server_url = {_string(settings.server_url or '')}",
        f"outlet_code = {_string(settings.outlet_code)}",
        f"counter_number = {_string(settings.counter_number)}",
    ]
    if settings.ca_bundle:
        lines.append(f"ca_bundle = {_string(settings.ca_bundle)}")
    lines += [
        "",
        "[devices]",
        f"card_reader = {_string(settings.card_reader_pattern)}",
        f"psam_reader = {_string(settings.psam_reader_pattern)}",
        f"pinpad_port = {_string(settings.pinpad_port)}",
    ]
    if settings.pinpad:
        lines.append(f"pinpad = {_string(settings.pinpad)}")
    if settings.pinpad_helper:
        lines.append(f"pinpad_helper = {_string(settings.pinpad_helper)}")
    lines += [
        "",
        "[printing]",
        f"printer = {_string(settings.printer)}",
        f"paper_profile = {_string(settings.paper_profile)}",
        "",
    ]
    return "\n".join(lines)


def validate(settings: Settings) -> Settings:
    """Parse ``settings`` as the program would read them back; raises `ConfigError`."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / CONFIG_FILE_NAME).write_text(counter_toml(settings), encoding="utf-8")
        parsed = load_settings(config_root=root, data_root=root / "data")
    return replace(parsed, config_file=settings.config_file, data_dir=settings.data_dir)


def save(settings: Settings, config_root: Path) -> Path:
    """Validate, then replace ``counter.toml`` atomically; returns its path."""
    if not settings.server_url:
        raise ConfigError("请填写中心服务器地址。")
    validate(settings)
    config_root.mkdir(parents=True, exist_ok=True)
    target = config_root / CONFIG_FILE_NAME
    handle, temporary = tempfile.mkstemp(prefix=".counter-", suffix=".toml", dir=config_root)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(counter_toml(settings))
    os.replace(temporary, target)
    return target
