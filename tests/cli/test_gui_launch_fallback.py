"""Starting the window without the desktop packages says so; a bug in the app is never shown as help."""

from __future__ import annotations

import builtins
from typing import Any

import pytest

from app.cli import main as cli_main


def _fail_import(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "app.ui.launch":
            raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(cli_main, "_no_screen", lambda: False)


def test_missing_desktop_packages_are_one_sentence_and_a_failure(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _fail_import(monkeypatch, "PySide6")
    assert cli_main.main([]) == 2
    err = capsys.readouterr().err
    assert "PySide6 is not installed" in err and "evidence-vault --help" in err


def test_a_missing_module_of_our_own_is_raised_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_import(monkeypatch, "app.ui.some_module")
    with pytest.raises(ModuleNotFoundError):
        cli_main.main([])
