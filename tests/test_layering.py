"""The layering rules of docs/ARCHITECTURE.md, read from the source (AST, like tests/test_offline.py).

1. Only ``app/ui`` imports Qt (PySide6, shiboken6, qtawesome): the core, the command line and the
   verifiers import and run without a screen.
2. ``app/ui`` reaches the vault through its service API only: of ``app.vault`` it imports the
   service module (``app.vault.service``: the ``VaultService`` protocol, opening and creating a
   vault, panic, the passphrase meter, the import file rule) and the plain records it returns
   (``app.vault.models``, ``app.vault.events``), never ``Vault`` itself, SQLite, the storage, the
   keys or the custody-log internals: a screen that wrote rows itself would bypass the custody log.
   mypy holds the calls to the same line: ``GatedVault`` (what every window gets) has only the
   ``VaultService`` methods.
3. What the screens show before acting is computed by the core, as the command line computes it:
   the consent preview (``app.export.consent_preview``), the names a redaction replaces
   (``app.redact.review_texts``), the files an import stores (``app.vault.collect``, proven the same
   for both front ends in tests/vault/test_collect.py).

Imports inside functions count too.  There is no allow-list: no module broke a rule when the test
was written.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PROJECT_ROOT

APP = PROJECT_ROOT / "app"
UI = APP / "ui"
QT_MODULES = ("PySide6", "shiboken6", "qtawesome")
UI_FORBIDDEN = ("sqlcipher3", "sqlite3", "app.vault.db", "app.vault.schema", "app.vault.blobs")
# All of app.vault the UI may import (the package itself appears for ``from app.vault import x``).
UI_VAULT_API = ("app.vault", "app.vault.service", "app.vault.models", "app.vault.events")


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


def _outside_the_api(module: str) -> bool:
    """A part of app.vault the UI may not import (``app.vault.service.VaultService`` is inside)."""
    return _is(module, "app.vault") and module != "app.vault" and not any(
        _is(module, allowed) for allowed in UI_VAULT_API if allowed != "app.vault")


def _vault_modules_outside_the_api(files: list[Path]) -> set[tuple[str, str]]:
    return {(str(path.relative_to(PROJECT_ROOT)), module) for path in files for module in _imports(path)
            if _outside_the_api(module)}


def test_ui_imports_only_the_vault_service_api() -> None:
    ui_files = sorted(UI.rglob("*.py"))
    found = _vault_modules_outside_the_api(ui_files)
    assert not found, "app/ui imports vault internals (use app.vault.service): " + ", ".join(
        f"{f} imports {m}" for f, m in sorted(found))


def test_ui_keeps_no_copy_of_core_policy() -> None:
    """The screens call the core's preview functions instead of re-implementing them."""
    sources = {path.name: path.read_text(encoding="utf-8") for path in UI.glob("*.py")}
    assert "consent_preview" in sources["export_pages.py"]
    assert "find_blocked" not in sources["export_pages.py"] and "needing_faces" not in sources["export_pages.py"]
    assert "item_texts" in sources["redaction_text.py"] and "suggest_names" not in sources["redaction_text.py"]
    assert "collect_files" in sources["importer.py"] and "os.walk" not in sources["importer.py"]
    walkers = sorted(name for name, text in sources.items() if "os.walk" in text or "rglob(" in text)
    assert not walkers, f"app/ui walks folders itself: {walkers}"


def test_the_service_rule_catches_a_vault_internal() -> None:
    names = _imports_of("from app.vault import recovery, models\nfrom app.vault.vault import Vault\n", "app.ui")
    assert sorted(m for m in names if _outside_the_api(m)) == ["app.vault.recovery", "app.vault.vault",
                                                               "app.vault.vault.Vault"]


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
