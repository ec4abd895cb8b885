"""docs/ARCHITECTURE.md names what the code has: every command module with its sub-commands, every
package of app/, and every call of the desktop app's service API."""

from __future__ import annotations

import argparse
import importlib
import re

from app.cli.main import COMMAND_MODULES
from app.vault.service import VaultService
from tests.conftest import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _commands(module_name: str) -> list[str]:
    subparsers = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module_name).register(subparsers)
    return sorted(subparsers.choices)


def test_every_command_module_is_listed_with_its_commands() -> None:
    on_disk = sorted(p.stem for p in (PROJECT_ROOT / "app" / "cli").glob("*_cmds.py"))
    assert sorted(m.rsplit(".", 1)[1] for m in COMMAND_MODULES) == on_disk, "main.py misses a command module"
    for module_name in COMMAND_MODULES:
        file_name = module_name.rsplit(".", 1)[1] + ".py"
        lines = DOC.splitlines()
        index = next((i for i, line in enumerate(lines) if f" {file_name} " in line), None)
        assert index is not None, f"docs/ARCHITECTURE.md does not list app/cli/{file_name}"
        listed = set(re.findall(r"[a-z][a-z-]*", lines[index].split(file_name, 1)[1]))
        for extra in lines[index + 1:]:  # a long list continues on deeply indented lines
            if not extra.startswith(" " * 30):
                break
            listed |= set(re.findall(r"[a-z][a-z-]*", extra))
        missing = [c for c in _commands(module_name) if c not in listed]
        assert not missing, f"docs/ARCHITECTURE.md: {file_name} lacks {missing}"


def test_every_package_and_the_service_api_are_described() -> None:
    packages = sorted(p.parent.name for p in (PROJECT_ROOT / "app").glob("*/__init__.py"))
    missing = [name for name in packages if f"  {name}/" not in DOC]
    assert not missing, f"docs/ARCHITECTURE.md does not describe app/{missing}"
    calls = [name for name in vars(VaultService) if not name.startswith("_")]
    absent = [name for name in calls if not re.search(rf"\b{name}\b", DOC)]
    assert not absent, f"the service API section lacks {absent}"
