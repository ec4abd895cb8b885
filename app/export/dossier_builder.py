"""Map vault records onto the dossier model (app.export.dossier_model), redacting as we go.

Every string that reaches the dossier passes through :class:`TextGuard`: at the redacted level it
is the vault's :class:`~app.redact.names.NameRedactor` (protected names and aliases, in any
script, become pseudonyms); at the original level it is the identity.  People linked to an
exhibit appear by pseudonym only at the redacted level.  Pictures come from the redacted
derivative at that level; the renderer re-encodes every picture without metadata either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from app.export.commitments import is_secret_key, original_commitment
from app.export.dossier_model import (
    Attachment,
    ContactSheet,
    Content,
    CustodyRow,
    Exhibit,
    ImageContent,
    ProofRow,
    TranscriptContent,
    TranscriptSegment,
)
from app.export.ern import member_suffix
from app.export.legacy_text import strip_escaped
from app.export.selection import media_class
from app.progress import CancelToken
from app.redact.names import NameRedactor, redact_filename
from app.vault.canonical import canonical_json
from app.vault.merkle import MerkleTree

MANIFEST_FORMAT = "evidence-vault-dossier-manifest"
MANIFEST_VERSION = 1
_SUMMARY_MAX = 240
# Event detail keys that are machine parameters, summarised rather than printed whole.
_BULKY = frozenset({"derivation", "boxes", "public_key_pem", "residual_faces_accepted", "consent_ids"})


class TextGuard:
    """Everything printed in a dossier goes through here.  ``redactor`` None = original level.

    At the redacted level escaped or undecodable bytes (a file name from a GBK, Big5 or cp874 device)
    are removed before the names are replaced: nobody can tell which encoding they were in, so they
    cannot be pseudonymised.  ``commitment_key`` (redacted level) is the key of the commitments shown
    instead of the originals' hashes and of parameters that would undo a redaction."""

    def __init__(self, redactor: NameRedactor | None, commitment_key: bytes | None = None) -> None:
        self.redactor = redactor
        self.commitment_key = commitment_key
        # Redacted text -> the text it was made from: the near-match report reads the text as it was,
        # so a name only partly redacted ("Nguiễn Thị [Survivor S-1]") is still reported.
        self.sources: dict[str, str] = {}

    @property
    def redacting(self) -> bool:
        return self.redactor is not None

    def __call__(self, text: str | None) -> str:
        text = "" if text is None else str(text)
        if self.redactor is None:
            return text
        source = strip_escaped(text)
        out = mark_redacted(self.redactor, source)
        if out != source:
            self.sources[out] = source
        return out

    def filename(self, name: str) -> str:
        return redact_filename(strip_escaped(name), self.redactor) if self.redactor is not None else name

    def segments(self, texts: Sequence[str]) -> list[str]:
        """Consecutive transcript segments, read as one text: a name split between two segments
        ("Nguyễn" | "Thị Lan") is redacted too (tracker #10)."""
        redactor = self.redactor
        if redactor is None:
            return list(texts)
        joined = redactor.join_segments([strip_escaped(t) for t in texts],
                                        replacement=lambda person: f"[{redactor.replacement_for(person)}]")
        out = [mark_redacted(redactor, text) for text in joined]
        for redacted, source in zip(out, joined, strict=True):
            if redacted != source:
                self.sources[redacted] = source
        return out


def mark_redacted(redactor: NameRedactor, text: str) -> str:
    """Replace every protected name by its pseudonym in square brackets (``[Survivor S-1]``): a reader
    sees where text was redacted.  Repeated like :meth:`NameRedactor.redact` for names that only appear
    once a neighbour is replaced."""
    for _ in range(4):
        matches = redactor.find(text)
        if not matches:
            return text
        parts: list[str] = []
        cursor = 0
        for match in matches:
            parts += [text[cursor:match.start], f"[{redactor.replacement_for(match.person_id)}]"]
            cursor = match.end
        parts.append(text[cursor:])
        text = "".join(parts)
    return text


def is_name_derived_title(item: Any) -> bool:
    """True when the item's title is its file name (or the name's stem), as ingest sets it by default."""
    title = (item.title or "").strip()
    name = item.original_name or ""
    return not title or title in (name, PurePosixPath(name).stem)


def exhibit_title(plan: ExhibitPlan, guard: TextGuard) -> str:
    """The exhibit's title.  At the redacted level a title that is only the file name is not used at
    all (an original file name never leaves the vault): the exhibit is then known by its kind."""
    item = plan.item
    if guard.redacting and is_name_derived_title(item):
        return f"{item.kind.capitalize()} {plan.number}"
    return guard(item.title) or plan.number


def display_time(value: str | None, guard: TextGuard) -> str:
    """A capture time as recorded, or at the redacted level its date alone (in UTC when the zone is
    known): a camera's zone offset tells where the picture was taken, and an exact time, matched with
    other sources, who took it and where (the redaction log's LOC row says it was left out)."""
    if not value:
        return "not recorded"
    if not guard.redacting:
        return local_time(value)
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        date = text[:10]
        try:
            datetime.strptime(date.replace(":", "-"), "%Y-%m-%d")
        except ValueError:
            return "recorded (not shown in redacted exports)"
        return date.replace(":", "-") + " (date only)"
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d") + " (date only)"
    return moment.astimezone(UTC).strftime("%Y-%m-%d") + " (UTC date only)"


def local_time(value: str) -> str:
    """A capture time at the original level, saying which clock it is: a time without a zone (EXIF
    DateTimeOriginal without OffsetTimeOriginal) is the camera's local time, never presented as UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    shown = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.tzinfo is None:
        return f"{shown} camera's local time (time zone not recorded)"
    offset = moment.strftime("%z")
    if offset in ("+0000", "-0000") and text.endswith("Z"):
        return f"{shown} UTC"
    return f"{shown} local time (UTC{offset[:3]}:{offset[3:]}; {moment.astimezone(UTC).strftime('%H:%M:%S')} UTC)"


def gps_facts(meta: dict[str, Any]) -> dict[str, str]:
    """Camera and GPS facts of a photo, for the original level only (they locate and identify the maker)."""
    facts: dict[str, str] = {}
    camera = " ".join(str(meta[k]) for k in ("camera_make", "camera_model") if meta.get(k))
    if camera:
        facts["Camera"] = camera
    gps = meta.get("gps")
    if isinstance(gps, dict) and "latitude" in gps and "longitude" in gps:
        where = f"{gps['latitude']:.6f}, {gps['longitude']:.6f}"
        if isinstance(gps.get("altitude"), int | float):
            where += f", altitude {gps['altitude']:.0f} m"
        facts["GPS position"] = where + f" (from {gps.get('source', 'the file')})"
        raw_value = gps.get("raw")
        raw: dict[str, Any] = raw_value if isinstance(raw_value, dict) else {}
        stamp, day = raw.get("GPSTimeStamp"), raw.get("GPSDateStamp")
        if isinstance(stamp, list) and len(stamp) == 3 and isinstance(day, str):
            try:
                h, m, sec = (float(v) for v in stamp)
                facts["GPS time (UTC)"] = f"{day.replace(':', '-')} {int(h):02d}:{int(m):02d}:{int(sec):02d} UTC"
            except (TypeError, ValueError):
                pass
    return facts


@dataclass
class ExhibitPlan:
    """One exhibit: the original item, the redacted copy shown instead (if any), what to show."""

    number: str
    item: Any
    derivative: Any | None = None
    event_seqs: list[int] = field(default_factory=list)

    @property
    def shown_id(self) -> int:
        return int(self.derivative.id if self.derivative is not None else self.item.id)

    @property
    def shown(self) -> Any:
        return self.derivative if self.derivative is not None else self.item


def exhibit_number(index: int, total: int) -> str:
    return f"EX-{index + 1:0{max(3, len(str(total)))}d}"


def person_label(person: Any, guard: TextGuard) -> str:
    """Redacted level: the pseudonym only (or 'Person N'); original: name, role and pseudonym."""
    pseudonym = (person.pseudonym or "").strip()
    if guard.redacting:
        return f"{guard(pseudonym) if pseudonym else f'Person {person.id}'} ({person.role})"
    extra = f", pseudonym {pseudonym}" if pseudonym else ""
    return f"{person.name} ({person.role}{extra})"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if len(value) > 6 or any(isinstance(v, dict | list) for v in value):
            return f"{len(value)} entries"
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return f"{len(value)} fields"
    return str(value)


def details_summary(event: Any, guard: TextGuard, hidden_item: int | None = None) -> str:
    details = dict(event.details or {})
    parts: list[str] = []
    if guard.redacting:
        # Values that would undo a redaction stay in the vault (the bundle carries their commitments), and
        # so does the exact size of the unredacted original, which confirms a candidate file.
        details = {k: v for k, v in details.items() if not is_secret_key(str(k))
                   and not (k == "size" and hidden_item is not None and event.item_id == hidden_item)}
    derivation = details.get("derivation")
    if isinstance(derivation, dict) and derivation:
        media = derivation.get("media") or derivation.get("kind") or "item"
        boxes = derivation.get("boxes")
        what = f"redacted {media}" if derivation.get("redaction") else f"derived {media}"
        if isinstance(boxes, list):
            what += f", {len(boxes)} face box entries"
        if derivation.get("method"):
            what += f", method {derivation['method']}"
        parts.append(what)
    for key in sorted(details):
        if key in _BULKY or key == "derivation":
            if key == "residual_faces_accepted" and details[key]:
                parts.append(f"residual faces accepted by reviewer: {len(details[key])}")
            continue
        value = details[key]
        if value is None or value == "" or value == []:
            continue
        parts.append(f"{key.replace('_', ' ')}: {_scalar(value)}")
    text = "; ".join(parts)
    if len(text) > _SUMMARY_MAX:
        text = text[: _SUMMARY_MAX - 1] + "…"
    return guard(text)


def custody_rows(events: Sequence[Any], guard: TextGuard, hidden_item: int | None = None) -> list[CustodyRow]:
    return [CustodyRow(time=e.time, actor=guard(e.actor), action=e.action.replace("_", " "),
                       details_summary=details_summary(e, guard, hidden_item), event_hash=e.chain_hash())
            for e in events]


def proof_rows(events: Sequence[Any], tree: MerkleTree, tree_size: int) -> list[ProofRow]:
    rows = []
    for event in events:
        path = tree.inclusion_proof(event.seq, tree_size)
        rows.append(ProofRow(event_seq=event.seq, leaf_hash=event.leaf_hash().hex(),
                             proof=[node.hex() for node in path]))
    return rows


def media_facts(plan: ExhibitPlan, guard: TextGuard, notes: Sequence[Any]) -> dict[str, str]:
    item = plan.item
    meta = item.metadata or {}
    facts: dict[str, str] = {}
    width = meta.get("display_width") or meta.get("width")
    height = meta.get("display_height") or meta.get("height")
    if width and height:
        facts["Dimensions"] = f"{width} × {height} px"
    duration = meta.get("duration")
    if isinstance(duration, int | float) and duration > 0:
        facts["Duration"] = f"{duration:.1f} s"
    codecs = [str(meta[k]) for k in ("video_codec", "audio_codec") if meta.get(k)]
    if codecs:
        facts["Codecs"] = " / ".join(codecs)
    if meta.get("fps"):
        facts["Frame rate"] = f"{meta['fps']} frames/s"
    if guard.redacting:
        facts["File"] = f"the original is held in the vault ({item.mime})"
    else:
        facts["File"] = f"{item.original_name} ({item.mime}, {item.size:,} bytes)"
    if item.tags:
        facts["Tags"] = guard(", ".join(item.tags))
    if item.place and not guard.redacting:
        facts["Place"] = item.place
    if not guard.redacting:
        facts.update(gps_facts(meta))
    if plan.derivative is not None:
        d = plan.derivative
        derivation = d.derivation or {}
        if derivation.get("media") == "audio":
            audio_value = derivation.get("audio")
            audio: dict[str, Any] = audio_value if isinstance(audio_value, dict) else {}
            what = "voice disguised" if audio.get("mode") == "disguise" else "sound removed"
        else:
            what = f"faces covered ({derivation.get('method') or 'fill'})"
        facts["Redacted copy"] = (f"item {d.id}: {what}, names replaced by pseudonyms; "
                                  f"{d.mime}, {d.size:,} bytes")
    for index, note in enumerate(notes, start=1):
        facts[f"Note {index}"] = guard(f"{note.text} ({note.author}, {note.created_at[:10]})")
    return facts


def _opener(vault: Any, item_id: int) -> Callable[[], Any]:
    return lambda: vault.open_original(item_id)


def build_content(vault: Any, plan: ExhibitPlan, guard: TextGuard, *,
                  key_frames: Callable[[int, float | None], tuple[list[bytes], list[float]]],
                  cancel: CancelToken | None = None) -> Content:
    """The exhibit's picture, key frames or transcript (see module docstring for the rules)."""
    item = plan.item
    cls = media_class(item)
    segments = vault.transcript(item.id)
    if cls == "photo":
        caption = "Redacted copy: faces covered, no metadata." if plan.derivative is not None else \
            "The photo as recorded (re-encoded for the page, without its metadata)."
        return ImageContent(open=_opener(vault, plan.shown_id), caption=caption)
    # Every level carries the testimony: the transcript, names replaced at the redacted level.
    transcript = TranscriptContent([
        TranscriptSegment(start=s.start, end=s.end, speaker=guard(s.speaker or "Speaker"),
                          language=s.language or "", text=text)
        for s, text in zip(segments, guard.segments([s.text for s in segments]), strict=True)]) if segments else None
    if transcript is not None and (cls != "video" or item.kind == "interview"):
        return transcript
    if cls == "video":
        if cancel is not None:
            cancel.check()
        duration = (item.metadata or {}).get("duration")
        frames, times = key_frames(plan.shown_id, duration if isinstance(duration, int | float) else None)
        return ContactSheet(frames=frames, timestamps=times, transcript=transcript)
    return None


def exhibit_language(vault: Any, item: Any) -> str:
    """The languages spoken or written in an item: its metadata's, else its transcript's."""
    meta = item.metadata or {}
    value = meta.get("language") or meta.get("languages")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if value:
        return str(value)
    seen: list[str] = []
    for segment in vault.transcript(item.id):
        if segment.language and segment.language not in seen:
            seen.append(segment.language)
    return ", ".join(seen)


def build_exhibit(vault: Any, plan: ExhibitPlan, guard: TextGuard, *, events: Sequence[Any],
                  tree: MerkleTree, tree_size: int, content: Content,
                  attach_original: bool, ern: str = "") -> Exhibit:
    item = plan.item
    persons = {p.id: p for p in vault.persons_for_item(item.id)}
    if plan.derivative is not None:
        persons.update({p.id: p for p in vault.persons_for_item(plan.derivative.id)})
    notes = vault.notes(item.id)
    attachment = None
    if attach_original:
        # Named like the bundle's natives: an original file name may itself name a witness.
        attachment = Attachment(name=f"{ern or plan.number}{member_suffix(item)}", mime=item.mime, size=item.size,
                                open=_opener(vault, item.id))
    return Exhibit(
        number=plan.number,
        title=exhibit_title(plan, guard),
        kind=item.kind,
        description=guard(item.description) or "(no description)",
        captured_at=display_time(item.captured_at, guard),
        source=guard(item.source) or "not recorded",
        sha256_original=None if guard.redacting else item.sha256,
        original_commitment=original_commitment(guard.commitment_key, item)
        if guard.redacting and guard.commitment_key is not None else None,
        sha256_derivative=plan.derivative.sha256 if plan.derivative is not None else None,
        media_facts=media_facts(plan, guard, notes),
        persons=[person_label(p, guard) for _, p in sorted(persons.items())],
        custody=custody_rows(events, guard, item.id if guard.redacting else None),
        proofs=proof_rows(events, tree, tree_size),
        content=content,
        attachment=attachment,
        ern=ern,
        language=exhibit_language(vault, item),
    )


def manifest_bytes(*, audience: str, level: str, ern_prefix: str, produced_at: str, checkpoint_text: str,
                   plans: Sequence[ExhibitPlan], commitment_key: bytes | None = None) -> bytes:
    """The dossier manifest (RFC 8785 JSON): what the dossier is made of; its SHA-256 is on the cover.

    With ``commitment_key`` (redacted level) each original's SHA-256 is replaced by its commitment."""
    return canonical_json({
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "audience": audience,
        "level": level,
        "ern_prefix": ern_prefix,
        "produced_at": produced_at,
        "checkpoint": checkpoint_text.strip() + "\n",
        "exhibits": [{
            "number": p.number,
            "item_id": p.item.id,
            "sha256": p.item.sha256 if commitment_key is None else None,
            "original_commitment": None if commitment_key is None else original_commitment(commitment_key, p.item),
            "derivative_item_id": p.derivative.id if p.derivative is not None else None,
            "derivative_sha256": p.derivative.sha256 if p.derivative is not None else None,
            "custody_event_seqs": list(p.event_seqs),
        } for p in plans],
    })


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
