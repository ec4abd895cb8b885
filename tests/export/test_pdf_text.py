"""Script runs, fonts and line breaking for the dossier text."""

from __future__ import annotations

import json
import unicodedata

import pytest

from app.export.pdf import fonts
from app.export.pdf.fonts import CJK, KHMER, LATIN, MYANMAR, THAI, FontMissing, ensure_fonts, split_runs
from app.export.pdf.linebreak import break_positions, line_segments
from app.export.pdf.text import break_lines, markup, shaped_width
from tests.conftest import shared_data_path


def _records() -> list[dict]:
    path = shared_data_path("text", "names_multilingual.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_script_gets_its_own_embedded_truetype_font():
    registered = ensure_fonts()
    assert set(registered) == {LATIN, THAI, KHMER, MYANMAR, CJK}
    assert registered[KHMER].path.name == "KhmerOS.ttf"  # not Noto Sans Khmer (reportlab setRise bug)
    assert registered[CJK].path.name.startswith("wqy-microhei")  # not Noto CJK (CFF, rejected)
    for font in registered.values():
        assert font.path.suffix in (".ttf", ".ttc")


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello world", [LATIN]),
    ("Tiếng Việt có dấu", [LATIN]),
    ("ប៉ុន្តែលោក ផៃ", [KHMER]),
    ("ก.พ. 1,000 บาท", [THAI, LATIN, THAI, LATIN, THAI]),  # Noto Sans Thai has no '.', digits
    ("ကိုMassachusetts", [MYANMAR, LATIN]),
    ("我叫赵新民，好", [CJK]),
    ("Witness (ខ្ញុំ) said 我", [LATIN, KHMER, LATIN, CJK]),
])
def test_runs_follow_scripts_and_font_coverage(text, expected):
    runs = split_runs(text)
    assert "".join(r for _, r in runs) == text
    assert [s for s, _ in runs] == expected
    registered = ensure_fonts()
    for script, run in runs:
        missing = [c for c in run if ord(c) not in registered[script].coverage and c not in "\u200b\u200c\u200d"]
        assert not missing, (script, missing)


def test_markup_escapes_untrusted_text():
    out = markup('<script>alert("x")</script> & <font name="Helvetica">')
    assert "<script>" not in out and '<font name="Helvetica">' not in out
    assert "&lt;script&gt;" in out and "&amp;" in out


def _starts_mid_cluster(line: str) -> bool:
    first = line[0]
    return (unicodedata.category(first).startswith("M")
            or line[0] in "\u17d2\u1039\u103a"  # coeng, Burmese virama/asat
            or "\u17b6" <= first <= "\u17d3")  # Khmer dependent vowels and signs


def test_long_spaceless_sentences_break_at_syllables_and_fit():
    width, size = 180.0, 10.0
    checked = 0
    for record in _records():
        if record["lang"] not in ("km", "my", "th", "zh"):
            continue
        lines = break_lines(record["text"], width, size)
        assert "".join(lines).replace(" ", "") == record["text"].replace(" ", "")
        for i, line in enumerate(lines):
            assert shaped_width(line, size) <= width, (record["id"], line)
            if i:
                assert not _starts_mid_cluster(line), (record["id"], line)
                # a Burmese line never starts with a consonant that carries asat (a final)
                assert not (len(line) > 1 and line[1] == "\u103a"), (record["id"], line)
        checked += len(lines) > 1
    assert checked >= 8  # the data really has lines that needed breaking


def test_hashes_break_only_when_too_long():
    digest = "ab" * 32
    assert break_lines(f"SHA-256 {digest}", 1000, 9) == [f"SHA-256 {digest}"]
    lines = break_lines(digest, 120, 9)
    assert len(lines) > 1 and "".join(lines) == digest


def test_missing_font_names_the_package(monkeypatch):
    spec = fonts._FontSpec(KHMER, "No Such Family 12345", "fonts-khmeros", ("/nonexistent/x.ttf",), ())
    assert fonts._find(spec, bold=False) is None
    monkeypatch.setattr(fonts, "_SPECS", (spec,))
    monkeypatch.setattr(fonts, "_registered", {})
    with pytest.raises(FontMissing) as err:
        fonts.ensure_fonts()
    assert "fonts-khmeros" in err.value.user_message() and "scripts/setup.sh" in err.value.user_message()


def _line_end_offsets(text: str, lines: list[str]) -> list[int]:
    """Where each line but the last ends in ``text`` (the spaces at a line end belong to it)."""
    ends, pos = [], 0
    for line in lines[:-1]:
        pos = text.index(line, pos) + len(line)
        while pos < len(text) and text[pos] == " ":
            pos += 1
        ends.append(pos)
    return ends


@pytest.mark.parametrize("lang", ["km", "th", "my"])
def test_lines_end_only_where_icu_allows_a_break(lang):
    texts = [r["text"] for r in _records() if r["lang"] == lang]
    paragraph = " ".join(texts)
    allowed = set(break_positions(paragraph))
    width, size = 110.0, 9.5  # a narrow table column
    # only a piece wider than the column itself (a Latin run in Burmese) may be cut inside
    pos, too_wide = 0, 0
    for piece in line_segments(paragraph):
        if shaped_width(piece.strip(), size) > width * 0.97:
            allowed.update(range(pos + 1, pos + len(piece)))
            too_wide += 1
        pos += len(piece)
    assert too_wide <= 1
    lines = break_lines(paragraph, width, size)
    assert len(lines) > 15
    assert "".join(lines).replace(" ", "") == paragraph.replace(" ", "")
    bad = [(paragraph[max(0, e - 6):e], paragraph[e:e + 6]) for e in _line_end_offsets(paragraph, lines)
           if e not in allowed]
    assert not bad, bad


@pytest.mark.parametrize(("word", "inside"), [("ក្រសាំង", "ក្រសាំ|ង"), ("หลายครั้ง", "หลายค|รั้ง")])
def test_syllables_reported_torn_stay_whole(word, inside):
    record = next(r for r in _records() if word in r["text"])
    text = record["text"]
    torn_at = text.index(word) + inside.index("|")
    assert torn_at not in break_positions(text)
    for width in range(60, 400, 7):
        lines = break_lines(text, float(width), 9.5)
        assert torn_at not in _line_end_offsets(text, lines), (width, lines)


def test_no_line_starts_with_a_repetition_mark():
    assert "ៗ" in "".join(r["text"] for r in _records())
    for record in _records():
        for width in (60.0, 90.0, 140.0):
            for line in break_lines(record["text"], width, 9.5)[1:]:
                assert line[0] not in "ៗๆฯ", (record["id"], width, line)


def test_markup_carries_no_zero_width_space():
    text = next(r["text"] for r in _records() if r["lang"] == "km")
    out = markup(text, width=100, size=9.5)
    assert out.count("<br/>") >= 2 and "\u200b" not in out
