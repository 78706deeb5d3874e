"""The emulator shares no code with the terminal side (counter_app.card), so their tests can disagree."""

from __future__ import annotations

import ast
from pathlib import Path

import counter_app.emulator

ALLOWED_OUTSIDE = {"counter_app.workflows.ports"}
PACKAGE = Path(counter_app.emulator.__file__).parent


def _project_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith(("counter_app", "central"))}


def test_no_terminal_code_is_imported() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _project_imports(path):
            inside = name == "counter_app.emulator" or name.startswith("counter_app.emulator.")
            assert inside or name in ALLOWED_OUTSIDE, f"{path.name} imports {name}"
