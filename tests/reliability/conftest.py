"""Print the reliability figures at the end of the run (also shown without -s)."""

from __future__ import annotations

import pytest

from tests.reliability.figures import FIGURES, summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    crashes = sum(v for k, v in FIGURES.items() if k.startswith("crash runs: "))
    inputs = sum(v for k, v in FIGURES.items() if k.startswith("fuzz inputs: "))
    for line in summary():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"TOTAL kill -9 runs survived: {crashes}")
    terminalreporter.write_line(f"TOTAL hostile inputs tried: {inputs}")
