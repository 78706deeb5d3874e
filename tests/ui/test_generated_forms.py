"""Every Qt Designer form is compiled, and the compiled module is newer than its .ui source."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORMS = sorted((ROOT / "forms").glob("*.ui"))


def test_there_are_forms() -> None:
    assert FORMS, "forms/ has no .ui files"


@pytest.mark.parametrize("form", FORMS, ids=[f.stem for f in FORMS])
def test_generated_module_is_newer_than_its_form(form: Path) -> None:
    generated = ROOT / "counter_app" / "ui" / "generated" / f"ui_{form.stem}.py"
    assert generated.exists(), f"{generated} missing: run `make forms`"
    assert generated.stat().st_mtime >= form.stat().st_mtime, f"{generated.name} is stale: run `make forms`"
    module = importlib.import_module(f"counter_app.ui.generated.ui_{form.stem}")
    assert any(name.startswith("Ui_") for name in vars(module))
