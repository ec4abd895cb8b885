"""Full-text search over item titles, descriptions, tags, notes and transcripts, in any script.

Two FTS5 indexes share one content table (``search_docs``):

- ``search_trigram`` (``trigram``): substring search, the only thing that works for scripts written
  without spaces (Thai, Khmer, Burmese, Chinese).  It needs at least 3 characters.
- ``search_words`` (``unicode61 remove_diacritics 2``): word search that ignores diacritics, so
  "nguyen" finds "Nguyễn" (Vietnamese stacks two diacritics on one letter; mode 2 handles that).

Queries shorter than 3 characters fall back to a LIKE scan of the content table (plus word search).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import sqlcipher3

from app.vault.models import SearchHit

MAX_HITS = 500
_SNIPPET_CHARS = 40


# Letters that unicode61 does not see as "letter + diacritic" but that people type without the mark.
_FOLD = str.maketrans({"đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ħ": "h", "ı": "i"})


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fold(text: str) -> str:
    return text.translate(_FOLD)


def index_item_fields(conn: sqlcipher3.Connection, item_id: int, *, title: str, description: str,
                      tags: Iterable[str]) -> None:
    conn.execute(
        "DELETE FROM search_docs WHERE item_id = ? AND field IN ('title', 'description', 'tags')", (item_id,)
    )
    rows = [("title", title), ("description", description), ("tags", " ".join(tags))]
    conn.executemany(
        "INSERT INTO search_docs(item_id, field, ref_id, text, folded) VALUES (?, ?, NULL, ?, ?)",
        [(item_id, field, _clean(text), _fold(_clean(text))) for field, text in rows if text and text.strip()],
    )


def index_note(conn: sqlcipher3.Connection, item_id: int, note_id: int, text: str) -> None:
    conn.execute(
        "INSERT INTO search_docs(item_id, field, ref_id, text, folded) VALUES (?, 'note', ?, ?, ?)",
        (item_id, note_id, _clean(text), _fold(_clean(text))),
    )


def index_transcript(conn: sqlcipher3.Connection, item_id: int, texts: Iterable[tuple[int, str]]) -> None:
    conn.execute("DELETE FROM search_docs WHERE item_id = ? AND field = 'transcript'", (item_id,))
    conn.executemany(
        "INSERT INTO search_docs(item_id, field, ref_id, text, folded) VALUES (?, 'transcript', ?, ?, ?)",
        [(item_id, idx, _clean(text), _fold(_clean(text))) for idx, text in texts if text.strip()],
    )


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(conn: sqlcipher3.Connection, text: str, *, limit: int = MAX_HITS) -> list[SearchHit]:
    """Hits in order of relevance: substring (trigram) matches, then word matches, then LIKE matches."""
    query = _clean(text).strip()
    if not query:
        return []
    doc_ids: list[int] = []
    seen: set[int] = set()

    def collect(sql: str, parameter: str) -> None:
        for (doc_id,) in conn.execute(sql, (parameter, limit)).fetchall():
            if doc_id not in seen:
                seen.add(doc_id)
                doc_ids.append(int(doc_id))

    if len(query) >= 3:
        collect("SELECT rowid FROM search_trigram WHERE search_trigram MATCH ? ORDER BY rank LIMIT ?",
                _phrase(query))
    else:
        collect("SELECT id FROM search_docs WHERE text LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
                _like_pattern(query))
    words = " ".join(_phrase(word) for word in _fold(query).split())
    collect("SELECT rowid FROM search_words WHERE search_words MATCH ? ORDER BY rank LIMIT ?", words)
    return [hit for hit in (_hit(conn, doc_id, query) for doc_id in doc_ids[:limit]) if hit is not None]


def _hit(conn: sqlcipher3.Connection, doc_id: int, query: str) -> SearchHit | None:
    row = conn.execute(
        "SELECT d.item_id, d.field, d.ref_id, d.text, s.start FROM search_docs d "
        "LEFT JOIN transcript_segments s ON d.field = 'transcript' AND s.item_id = d.item_id "
        "AND s.idx = d.ref_id WHERE d.id = ?",
        (doc_id,),
    ).fetchone()
    if row is None:
        return None
    item_id, field, ref_id, content, start = row
    return SearchHit(
        item_id=int(item_id),
        field=str(field),
        snippet=_snippet(str(content), query),
        ref_id=None if ref_id is None else int(ref_id),
        start=None if start is None else float(start),
    )


def _snippet(content: str, query: str) -> str:
    position = content.casefold().find(query.casefold())
    if position < 0:
        position = 0
    begin = max(0, position - _SNIPPET_CHARS)
    end = min(len(content), position + len(query) + _SNIPPET_CHARS)
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(content) else ""
    return prefix + content[begin:end] + suffix
