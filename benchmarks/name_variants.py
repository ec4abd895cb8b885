"""The name-variant matrix (issues #10 and #14): variant class x script -> caught / flagged / leaked.

Names and variants: benchmarks/name_variant_cases.py (a tuned half: the names the rules were developed
on; a held-out half: names nobody looked at while writing them).  Each variant is written into a real
sentence (../shared/data/text/names_multilingual.jsonl, or a sentence of our own for Vietnamese and
Indonesian), with the title people write before it where the class has one, and the person is
registered as a protected person (name, plus the transliteration as an alias for that class).  A
variant is

- caught: the redactor's matches cover every letter of it (the title excepted);
- flagged: not fully redacted, but app.redact.name_warnings reports it for the reviewer, who must
  clear it before a redacted export completes;
- leaked: neither (partly redacted counts as leaked: the rest of the name is in the export).

A name split across two transcript segments is two texts, redacted as the export redacts transcript
segments (NameRedactor.redact_segments: consecutive segments read as one text).

Baseline in the same run: ``--baseline OLD_NAMES_PY`` loads another names.py (for instance the release
before issue #14: ``git show 84fe419:app/redact/names.py > /tmp/old_names.py``, which imports nothing
newer) and prints its totals next to the current ones (it has no near-match report: it flags nothing).
Run: .venv/bin/python benchmarks/name_variants.py [--baseline /tmp/old_names.py] [--rows]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.redact import names as current
from app.redact.name_warnings import find_near_matches
from benchmarks.name_variant_cases import NAMES, Case, Name, cases

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "names_multilingual.jsonl"
SCRIPTS = ("Indonesian", "English", "Vietnamese", "Chinese", "Thai", "Khmer", "Burmese")


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("baseline_names", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def texts(name: Name, case: Case, records: dict[str, dict[str, Any]]) -> list[tuple[str, int, int]]:
    """(text, start, end) of each piece of ``case`` written into the name's sentence."""
    sentence = records[name.record]["text"] if name.record else name.sentence
    if name.name not in sentence:
        raise SystemExit(f"{name.record or 'sentence'} does not contain {name.name!r}")
    at = sentence.index(name.name)
    before, after = sentence[:at], sentence[at + len(name.name):]
    out = []
    for index, (title, piece) in enumerate(case.pieces):
        head = before if index == 0 else ""
        tail = (case.suffix + after) if index == len(case.pieces) - 1 else ""
        start = len(head) + len(title)
        out.append((head + title + piece + tail, start, start + len(piece)))
    return out


def classify(module: Any, pieces: list[tuple[str, int, int]], names: list[str], near: bool) -> str:
    redactor = module.NameRedactor([module.ProtectedName(1, names, "P")], mode="redacted")
    results = []
    if len(pieces) > 1 and hasattr(redactor, "find_in_segments"):
        found = redactor.find_in_segments([p[0] for p in pieces])  # segments are redacted as one text
    else:
        found = [redactor.find(p[0]) for p in pieces]
    for (sentence, start, end), matches in zip(pieces, found, strict=True):
        covered: set[int] = set()
        for match in matches:
            covered.update(range(max(start, match.start), min(end, match.end)))
        letters = {i for i in range(start, end) if sentence[i].isalnum() or sentence[i] in "&#;"}
        if letters <= covered:
            results.append("caught")
        elif near and any(m.start < end and start < m.end for m in find_near_matches(sentence, "bench", redactor)):
            results.append("flagged")
        else:
            results.append("leaked")
    for result in ("leaked", "flagged"):
        if result in results:
            return result
    return "caught"


def row_label(cls: str) -> str:
    """Title classes grouped by kind of title (the title itself goes into --rows)."""
    if cls.startswith("title "):
        return "title + " + cls.rsplit(" + ", 1)[1]
    if cls.startswith("honorific "):
        return "honorific (U/Daw/Ma/Ko/Maung) + transliteration"
    if cls.startswith("alias registered with Daw, written with "):
        return "alias registered with Daw, written with U/Ma/Ko/Maung"
    if cls.startswith("family name + "):
        return "family name + 先生 (after it)"
    return cls


def cell(counts: Counter[str]) -> str:
    if not counts:
        return "-"
    return f"{counts['caught']}/{counts['flagged']}/{counts['leaked']}"


def print_matrix(half: str, results: dict[tuple[str, str], Counter[str]]) -> Counter[str]:
    rows = sorted({r for r, _ in results}, key=lambda r: (r.startswith(("title", "honorific", "family name +")), r))
    width = max(len(r) for r in rows) + 1
    print(f"\n== {half} half: caught/flagged/leaked per class and script ==")
    print(f"{'variant class':{width}}" + "".join(f"{s:>12}" for s in SCRIPTS))
    total: Counter[str] = Counter()
    for row in rows:
        print(f"{row:{width}}" + "".join(f"{cell(results.get((row, s), Counter())):>12}" for s in SCRIPTS))
        for script in SCRIPTS:
            total.update(results.get((row, script), Counter()))
    by_script = [sum((results.get((r, s), Counter()) for r in rows), Counter()) for s in SCRIPTS]
    print(f"{'all classes':{width}}" + "".join(f"{cell(c):>12}" for c in by_script))
    n = sum(total.values())
    print(f"{half}: {n} variants of {len([x for x in NAMES if x.half == half])} names: caught {total['caught']}, "
          f"flagged {total['flagged']}, leaked {total['leaked']} ({total['leaked'] / n:.1%})")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--rows", action="store_true", help="print every variant that was not caught")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} is missing: the matrix is built from it")
    records = {r["id"]: r for r in map(json.loads, DATA.read_text(encoding="utf-8").splitlines()) if r}
    baseline = load(args.baseline) if args.baseline else None
    per_half: dict[str, dict[tuple[str, str], Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    old_totals: dict[str, Counter[str]] = defaultdict(Counter)
    for name in NAMES:
        for case in cases(name):
            pieces = texts(name, case, records)
            names = [name.name, *case.aliases]
            result = classify(current, pieces, names, near=True)
            per_half[name.half][(row_label(case.cls), name.script)][result] += 1
            if baseline is not None:
                old_totals[name.half][classify(baseline, pieces, names, near=False)] += 1
            if args.rows and result != "caught":
                shown = " | ".join(repr(p[0][max(0, p[1] - 12):p[2] + 12]) for p in pieces)
                print(f"{name.half:8} {name.script:10} {case.cls:44} {result:8} {shown}")
    totals = {half: print_matrix(half, per_half[half]) for half in ("tuned", "held-out")}
    if baseline is not None:
        print("\nbaseline (names.py given with --baseline, no near-match report) vs current:")
        for half in ("tuned", "held-out"):
            old, new = old_totals[half], totals[half]
            print(f"{half:9} baseline caught {old['caught']}, leaked {old['leaked']};  "
                  f"current caught {new['caught']}, flagged {new['flagged']}, leaked {new['leaked']}")
        speed(baseline, list(records.values()))


def speed(baseline: Any, records: list[dict[str, Any]]) -> None:
    """Redaction time on every sentence of the data set 20 times over, all its names protected."""
    text = "\n".join(r["text"] for r in records) * 20
    people = [p for r in records for p in r["persons"]]
    timings = {}
    for label, module in (("baseline", baseline), ("current", current)):
        redactor = module.NameRedactor([module.ProtectedName(i, [p], f"P{i}") for i, p in enumerate(people)])
        began = time.perf_counter()
        redactor.redact(text)
        timings[label] = time.perf_counter() - began
    redactor = current.NameRedactor([current.ProtectedName(i, [p], f"P{i}") for i, p in enumerate(people)])
    began = time.perf_counter()
    find_near_matches(text, "bench", redactor)
    near = time.perf_counter() - began
    print(f"redact {len(text):,} characters, {len(people)} names: baseline {timings['baseline']:.2f} s, "
          f"current {timings['current']:.2f} s (x{timings['current'] / timings['baseline']:.2f}); "
          f"near-match report {near:.2f} s (x{near / timings['baseline']:.2f} of baseline redaction)")


if __name__ == "__main__":
    main()
