"""Figures the reliability tests collect (crashes survived, inputs tried, leaks found); printed at the end
of the run by tests/reliability/conftest.py and, with -s, by each test as it goes."""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()


def record(name: str, count: int = 1) -> None:
    FIGURES[name] += count


def summary() -> list[str]:
    return [f"{name}: {FIGURES[name]}" for name in sorted(FIGURES)]
