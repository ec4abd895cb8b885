"""How many written variants of a protected name are redacted, flagged or missed (issue #14).

The 52-variant matrix: real names from ../shared/data/text/names_multilingual.jsonl (Indonesian,
English, Chinese, Thai, Khmer, Burmese), each written as people write them (given or family name
alone, title + given name, other order, middle name dropped or initialled, look-alike letters,
character references, invisible characters, marks in another order, Traditional vs Simplified,
misspellings), placed back into its real sentence.  A variant is

- caught: the redactor's matches cover all of it (the title excepted);
- partial: part of it is redacted, the rest is not reported;
- flagged: not (fully) redacted, but reported by app.redact.name_warnings for review;
- missed: neither.

Baseline in the same run: ``--baseline OLD_NAMES_PY`` loads another names.py (for instance the
previous release's, ``git show HEAD~1:app/redact/names.py > /tmp/old_names.py``) and prints its
column next to the current one (it has no near-match report, so it flags nothing).
Run: .venv/bin/python benchmarks/name_variants.py [--baseline /tmp/old_names.py] [--rows]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from app.redact import names as current
from app.redact.name_warnings import find_near_matches

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "names_multilingual.jsonl"

_MYAT = "\u1019\u103c\u1010\u103a\u1021\u102d\u1014\u1039\u1012\u103c\u1031\u101e\u102d\u1019\u103a\u1037"

# (record id, registered name, style, written variant, title written before it or "")
MATRIX: list[tuple[str, str, str, str, str]] = [
    ("id-091", "Aziz Syamsuddin", "given name alone", "Aziz", ""),
    ("id-091", "Aziz Syamsuddin", "family name alone", "Syamsuddin", ""),
    ("id-091", "Aziz Syamsuddin", "title + given name", "Aziz", "Bapak "),
    ("id-091", "Aziz Syamsuddin", "other order", "Syamsuddin Aziz", ""),
    ("id-091", "Aziz Syamsuddin", "look-alike letters (Cyrillic а)", "\u0410ziz Sy\u0430msuddin", ""),
    ("id-091", "Aziz Syamsuddin", "misspelt (one letter)", "Aziz Syamsudin", ""),
    ("id-091", "Aziz Syamsuddin", "older spelling (sj for sy)", "Aziz Sjamsuddin", ""),
    ("id-091", "Aziz Syamsuddin", "character reference", "Aziz&nbsp;Syamsuddin", ""),
    ("id-091", "Aziz Syamsuddin", "variation selector + zero width", "Az\ufe0fiz\u200bSyamsuddin", ""),
    ("id-091", "Benny K Harman", "middle initial dropped", "Benny Harman", ""),
    ("id-091", "Benny K Harman", "initial with a dot", "Benny K. Harman", ""),
    ("id-091", "Benny K Harman", "family name first", "Harman, Benny K", ""),
    ("id-091", "Benny K Harman", "given name alone", "Benny", ""),
    ("id-091", "Benny K Harman", "numeric references", "Benny&#32;K&#x20;H&#97;rman", ""),
    ("id-091", "Junimart Girsang", "family name alone", "Girsang", ""),
    ("id-091", "Junimart Girsang", "doubled letter", "Junimart Girssang", ""),
    ("id-091", "Junimart Girsang", "title + family name", "Girsang", "Pak "),
    ("en-139", "Sakakibara", "misspelt (transposed)", "Sakakiabra", ""),
    ("en-139", "Sakakibara", "doubled letter", "Sakakibarra", ""),
    ("en-139", "Sakakibara", "look-alike letters (Greek ο, Cyrillic а)", "S\u0430k\u0430kib\u0430ra", ""),
    ("en-139", "Sakakibara", "diacritics added", "Sakakibára", ""),
    ("en-139", "Sakakibara", "title + name", "Sakakibara", "Mr. "),
    ("en-119", "Harry Potter", "given name alone", "Harry", ""),
    ("en-119", "Harry Potter", "Western order reversed", "Potter Harry", ""),
    ("en-119", "Harry Potter", "look-alike letters (Cyrillic о)", "Harry P\u043etter", ""),
    ("en-119", "Harry Potter", "written in capitals, no space", "HARRYPOTTER", ""),
    ("zh-079", "林志穎", "Simplified for Traditional", "林志颖", ""),
    ("zh-079", "林志穎", "given name alone", "志穎", ""),
    ("zh-079", "林志穎", "variation selector", "林\ufe00志穎", ""),
    ("zh-079", "林志穎", "numeric reference", "&#26519;志穎", ""),
    ("zh-086", "赵新民", "Traditional for Simplified", "趙新民", ""),
    ("zh-086", "赵新民", "hex reference", "赵&#x65B0;民", ""),
    ("zh-086", "赵新民", "given name alone", "新民", ""),
    ("zh-086", "赵新民", "homophone (民 -> 明)", "赵新明", ""),
    ("th-012", "นายสนธิรัตน์ สนธิจิรวงศ์", "without the title", "สนธิรัตน์ สนธิจิรวงศ์", ""),
    ("th-012", "นายสนธิรัตน์ สนธิจิรวงศ์", "given name alone", "สนธิรัตน์", ""),
    ("th-012", "นายสนธิรัตน์ สนธิจิรวงศ์", "family name alone", "สนธิจิรวงศ์", ""),
    ("th-012", "นายสนธิรัตน์ สนธิจิรวงศ์", "misspelt (one letter)", "สนธิรัตร์ สนธิจิรวงศ์", ""),
    ("th-012", "นายสนธิรัตน์ สนธิจิรวงศ์", "character reference", "สนธิรัตน์&nbsp;สนธิจิรวงศ์", ""),
    ("th-009", "ตั้ง อาชีวะ", "tone mark before the vowel", "ต\u0e49\u0e31ง อาชีวะ", ""),
    ("th-009", "ตั้ง อาชีวะ", "title + given name", "ตั้ง", "คุณ"),
    ("th-009", "ตั้ง อาชีวะ", "family name alone", "อาชีวะ", ""),
    ("km-049", "ខាត់ សុរ៉ាវឌី", "marks in another order", "ខាត់ សុរ\u17b6\u17c9វឌី", ""),
    ("km-049", "ខាត់ សុរ៉ាវឌី", "given name alone", "សុរ៉ាវឌី", ""),
    ("km-049", "ខាត់ សុរ៉ាវឌី", "zero width space", "ខាត់\u200bសុរ៉ាវឌី", ""),
    ("km-049", "ខាត់ សុរ៉ាវឌី", "misspelt (one letter)", "ខាត់ សុរ៉ាវឌ", ""),
    ("km-038", "ជា ស៊ីម", "vowel before register shifter", "ជា ស\u17b8\u17caម", ""),
    ("km-038", "ជា ស៊ីម", "title + given name (title in the sentence)", "ស៊ីម", ""),
    ("km-038", "ជា ស៊ីម", "written without the space", "ជាស៊ីម", ""),
    ("my-031", _MYAT, "dot below before asat", _MYAT.replace("\u103a\u1037", "\u1037\u103a"), ""),
    ("my-031", _MYAT, "with the honorific", _MYAT, "ဒေါ်"),
    ("my-031", _MYAT, "vowel sign E before medial ra", _MYAT.replace("\u1012\u103c\u1031", "\u1012\u1031\u103c"), ""),
]


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("baseline_names", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def classify(module: Any, sentence: str, start: int, end: int, name: str, near: bool) -> str:
    redactor = module.NameRedactor([module.ProtectedName(1, [name], "P")], mode="redacted")
    covered = set()
    for match in redactor.find(sentence):
        covered.update(range(max(start, match.start), min(end, match.end)))
    letters = {i for i in range(start, end) if sentence[i].isalnum() or sentence[i] == "&"}
    if letters <= covered:
        return "caught"
    if near and any(m.start < end and start < m.end for m in find_near_matches(sentence, "bench", redactor)):
        return "flagged"
    return "partial" if covered else "missed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--rows", action="store_true", help="print every variant's result")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} is missing: the matrix is built from it")
    records = {r["id"]: r for r in map(json.loads, DATA.read_text(encoding="utf-8").splitlines()) if r}
    baseline = load(args.baseline) if args.baseline else None
    totals: dict[str, Counter[str]] = {"current": Counter(), "baseline": Counter()}
    for record_id, name, style, variant, title in MATRIX:
        text = records[record_id]["text"]
        if name not in text:
            raise SystemExit(f"{record_id} does not contain {name!r}")
        written = title + variant
        sentence = text.replace(name, written, 1)
        start = text.index(name) + len(title)
        end = start + len(variant)
        result = classify(current, sentence, start, end, name, near=True)
        totals["current"][result] += 1
        old = classify(baseline, sentence, start, end, name, near=False) if baseline else ""
        totals["baseline"][old] += 1 if old else 0
        if args.rows:
            print(f"{record_id:7} {style:42} {old:8} {result:8} {written!r}")
    print(f"{len(MATRIX)} variants of {len({m[1] for m in MATRIX})} names")
    print(f"{'':10} {'caught':>7} {'partial':>8} {'flagged':>8} {'missed':>7}")
    for column in ("baseline", "current") if baseline else ("current",):
        counts = totals[column]
        print(f"{column:10} {counts['caught']:>7} {counts['partial']:>8} {counts['flagged']:>8} {counts['missed']:>7}")
    if baseline:
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
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
