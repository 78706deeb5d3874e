"""Counter settings: training when never configured, and never back to training once configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from counter_app.config import CONFIGURED_MARKER, ConfigError, Mode, load_settings

GOOD = """
[counter]
server_url = "https://sbk.leshan.example/api"
outlet_code = "511102001"
counter_number = "03"

[devices]
card_reader = "Virtual PCD 00 00"
psam_reader = "Virtual PCD 00 01"

[printing]
paper_profile = "a5"
"""


def test_unconfigured_counter_starts_in_training_mode(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "cfg", tmp_path / "data")
    assert settings.mode is Mode.TRAINING and settings.training
    assert settings.data_dir == tmp_path / "data" / "training"
    assert not (tmp_path / "data" / CONFIGURED_MARKER).exists()


def test_configured_counter_reads_its_file_and_leaves_a_marker(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "counter.toml").write_text(GOOD, encoding="utf-8")
    settings = load_settings(tmp_path / "cfg", tmp_path / "data")
    assert settings.mode is Mode.PRODUCTION
    assert (settings.outlet_code, settings.counter_number, settings.paper_profile) == (
        "511102001",
        "03",
        "a5",
    )
    assert settings.card_reader_pattern == "Virtual PCD 00 00"
    assert (settings.pinpad, settings.pinpad_port, settings.pinpad_helper) == ("", "", "")


def test_the_pin_pad_kinds_read_back_as_written(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    devices = 'pinpad = "vendor"\npinpad_helper = "padhelper --port COM3"\n\n[printing]'
    (tmp_path / "cfg" / "counter.toml").write_text(GOOD.replace("[printing]", devices), encoding="utf-8")
    settings = load_settings(tmp_path / "cfg", tmp_path / "data")
    assert (settings.pinpad, settings.pinpad_helper) == ("vendor", "padhelper --port COM3")
    from counter_app.ui.settings_file import counter_toml

    assert 'pinpad = "vendor"' in counter_toml(settings) and "pinpad_helper" in counter_toml(settings)
    assert (tmp_path / "data" / CONFIGURED_MARKER).read_text(encoding="utf-8").strip() == "511102001/03"


def test_a_counter_that_lost_its_configuration_refuses_training_mode(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    config = tmp_path / "cfg" / "counter.toml"
    config.write_text(GOOD, encoding="utf-8")
    load_settings(tmp_path / "cfg", tmp_path / "data")
    config.unlink()
    with pytest.raises(ConfigError, match="不会进入培训模式"):
        load_settings(tmp_path / "cfg", tmp_path / "data")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[counter]\noutlet_code = 'x'\ncounter_number = '1'\n", "server_url"),
        ("[counter]\nserver_url = 'http://10.0.0.5/'\noutlet_code = 'x'\ncounter_number = '1'\n", "https"),
        ("not toml = = =", "无法读取"),
        ("[devices]\n", r"\[counter\]"),
        (GOOD.replace('"a5"', '"a3"'), "纸张类型"),
        (GOOD.replace("[printing]", 'pinpad = "keyboard"\n\n[printing]'), "pinpad = 'keyboard' 无效"),
    ],
)
def test_bad_configuration_is_a_clear_chinese_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "counter.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path / "cfg", tmp_path / "data")
    assert not (tmp_path / "data" / CONFIGURED_MARKER).exists()
