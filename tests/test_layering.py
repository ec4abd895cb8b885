"""The layering rules of docs/ARCHITECTURE.md, read from the source (AST, like tests/test_offline.py).

1. Only ``app/ui`` imports Qt (PySide6, shiboken6, qtawesome): the core, the command line and the
   verifiers import and run without a screen.
2. ``app/ui`` reaches the vault through its service API (``app.vault.vault.Vault`` and the other
   services), never through SQLite or the storage modules underneath it (``app.vault.db``,
   ``app.vault.schema``, ``app.vault.blobs``): a screen that wrote rows itself would bypass the
   custody log.

Imports inside functions count too.  There is no allow-list: no module broke either rule when the
test was written.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PROJECT_ROOT

APP = PROJECT_ROOT / "app"
UI = APP / "ui"
QT_MODULES = ("PySide6", "shiboken6", "qtawesome")
UI_FORBIDDEN = ("sqlcipher3", "sqlite3", "app.vault.db", "app.vault.schema", "app.vault.blobs")


def _imports_of(source: str, package: str) -> set[str]:
    """Every module ``source`` imports (as if it lived in ``package``), with ``from package import
    module`` spelled out both ways, so ``from app.vault import db`` is seen as ``app.vault.db``."""
    parts = package.split(".")
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _imports(path: Path) -> set[str]:
    package = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts[:-1])
    return _imports_of(path.read_text(encoding="utf-8"), package)


def _is(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> set[tuple[str, str]]:
    found = set()
    for path in files:
        for module in _imports(path):
            for prefix in forbidden:
                if _is(module, prefix):
                    found.add((str(path.relative_to(PROJECT_ROOT)), prefix))
    return found


def test_only_the_ui_imports_qt() -> None:
    outside = [p for p in sorted(APP.rglob("*.py")) if UI not in p.parents]
    assert outside, "no core modules found: the test is looking in the wrong place"
    offenders = _violations(outside, QT_MODULES)
    assert not offenders, "Qt imported outside app/ui: " + ", ".join(f"{f} imports {m}" for f, m in sorted(offenders))


def test_ui_uses_the_service_api_not_the_storage() -> None:
    ui_files = sorted(UI.rglob("*.py"))
    assert ui_files, "no UI modules found: the test is looking in the wrong place"
    found = _violations(ui_files, UI_FORBIDDEN)
    assert not found, "app/ui reaches under the service API: " + ", ".join(f"{f} imports {m}" for f, m in sorted(found))


def test_the_rules_see_every_import_form() -> None:
    """The checker itself: plain, from, relative and function-level imports are all seen."""
    source = (
        "import sqlite3\n"
        "from app.vault import db\n"
        "from ..vault.schema import SCHEMA\n"
        "from . import models\n"
        "def f():\n"
        "    import PySide6.QtCore\n"
        "    from shiboken6 import isValid\n"
    )
    names = _imports_of(source, "app.ui")
    assert {"sqlite3", "app.vault.db", "app.vault.schema", "app.ui.models", "PySide6.QtCore", "shiboken6"} <= names
    assert not any(_is(m, "app.vault.blobs") or _is(m, "qtawesome") for m in names)
    assert not _is("app.vault.dbx", "app.vault.db")
