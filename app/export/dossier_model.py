"""What a PDF dossier says, independent of the vault.

The exporter maps the vault (items, persons, custody events, Merkle proofs, checkpoint) onto
these dataclasses; the renderer only ever sees them.  Redaction happens *before* this point:
for a redacted dossier every string here (titles, descriptions, persons, custody details,
transcripts) must already be pseudonymised by the caller, and images must be the redacted
derivatives.  Content is opened lazily (callables) so a dossier of 200 exhibits never holds
every photo, let alone a video, in memory at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

Audience = Literal["court", "un", "ngo", "media"]
Level = Literal["original", "redacted"]
AUDIENCES: tuple[str, ...] = ("court", "un", "ngo", "media")
LEVELS: tuple[str, ...] = ("original", "redacted")
PAPERS: tuple[str, ...] = ("A4", "Letter")


@dataclass(frozen=True)
class CustodyRow:
    time: str  # RFC 3339 UTC
    actor: str
    action: str
    details_summary: str
    event_hash: str  # hex chain hash of the event


@dataclass(frozen=True)
class ProofRow:
    """An RFC 9162 inclusion proof of one custody event in the tree the checkpoint signs."""

    event_seq: int  # leaf index = event sequence number
    leaf_hash: str  # hex
    proof: Sequence[str]  # hex sibling hashes, leaf to root


@dataclass(frozen=True)
class ImageContent:
    """A photo (already redacted when the dossier is).  ``open`` returns a readable binary file."""

    open: Callable[[], BinaryIO]
    caption: str = ""


Frame = bytes | Callable[[], bytes]


@dataclass(frozen=True)
class ContactSheet:
    """Key frames of a video with their timestamps (seconds); frames are encoded images
    (JPEG/PNG bytes) or callables returning them.  ``transcript``: what is said in the video, printed
    after the key frames (testimony filmed on a phone is still testimony)."""

    frames: Sequence[Frame]
    timestamps: Sequence[float]
    transcript: TranscriptContent | None = None

    def __post_init__(self) -> None:
        if len(self.frames) != len(self.timestamps):
            raise ValueError("a contact sheet needs one timestamp per frame")


@dataclass(frozen=True)
class TranscriptSegment:
    start: float
    end: float
    speaker: str
    language: str
    text: str


@dataclass(frozen=True)
class TranscriptContent:
    segments: Sequence[TranscriptSegment | tuple[float, float, str, str, str]]

    def rows(self) -> list[TranscriptSegment]:
        return [s if isinstance(s, TranscriptSegment) else TranscriptSegment(*s) for s in self.segments]


Content = ImageContent | ContactSheet | TranscriptContent | None


@dataclass(frozen=True)
class Attachment:
    """An original exhibit file to carry inside the PDF (court, under seal).  ``open`` returns
    a readable binary file; ``size`` lets the exporter refuse files above its cap before reading."""

    name: str
    mime: str
    size: int
    open: Callable[[], BinaryIO]


@dataclass
class Exhibit:
    number: str  # the exhibit's ERN base / label, e.g. "EX-001"
    title: str
    kind: str  # interview, photo, video, audio, document, transcript
    description: str
    captured_at: str
    source: str
    sha256_original: str | None  # None at the redacted level: original_commitment is shown instead
    sha256_derivative: str | None = None
    original_commitment: str | None = None  # "hmac-sha256:..." (app.export.commitments)
    media_facts: dict[str, str] = field(default_factory=dict)
    persons: list[str] = field(default_factory=list)
    custody: list[CustodyRow] = field(default_factory=list)
    proofs: list[ProofRow] = field(default_factory=list)
    content: Content = None
    attachment: Attachment | None = None
    # The exhibit's persistent evidence registration number (app.export.ern): the same in every export
    # of the item; "-Red" ends it when the exhibit is shown redacted.  Its pages are ERN-0001, -0002...
    ern: str = ""
    language: str = ""
    confidentiality: str = ""
    consent_status: str = ""
    withheld: str = ""  # what of the exhibit is not shown or shipped, and why (empty: nothing)


@dataclass
class Declaration:
    """The investigator's certification (shown on the certification page)."""

    investigator_name: str
    investigator_role: str
    place: str
    date: str
    statement: str
    organisation: str = ""
    sealed: bool = True  # a sealed file carries no ink signature line: the seal is the signature


@dataclass(frozen=True)
class ConsentRow:
    """One consent record of one person linked to the exhibits (all strings already redacted)."""

    person: str
    exhibits: str  # the ERNs of the exhibits the person is linked to
    scopes: str
    date: str
    taken_by: str
    form: str  # the ERN of the item holding the signed consent form, or why there is none
    withdrawn: str  # "" or when and why
    allows_export: str  # "yes" / "no (...)"


@dataclass
class ConsentSection:
    rows: list[ConsentRow]
    decision: str  # the export's own consent decision, one sentence or more
    override_reason: str | None = None


@dataclass(frozen=True)
class RedactionRow:
    """One redaction applied to an exhibit shown in the dossier."""

    exhibit: str  # ERN of the redacted version
    what: str  # faces, names, voice...
    reason_code: str  # e.g. PW-IDENTITY (identity of a protected witness)
    method: str
    reviewer: str  # who approved it ("automatic: ..." when nobody did)
    time: str  # RFC 3339 UTC


@dataclass
class Dossier:
    case_title: str
    organisation: str
    produced_at: str  # RFC 3339 UTC
    audience: Audience
    level: Level
    ern_prefix: str  # e.g. "EV-CASE1" -> pages "EV-CASE1-000001"
    manifest_sha256: str
    checkpoint_text: str  # the signed checkpoint the dossier was made from
    merkle_root: str  # hex
    tree_size: int
    declaration: Declaration
    exhibits: list[Exhibit] = field(default_factory=list)
    public_key_pem: str = ""  # the vault's checkpoint key, for the verification appendix
    seal_certificate_pem: str = ""  # the seal's X.509 certificate, printed in the appendix (and attached)
    confidentiality: str = ""  # the legend printed on every page, e.g. "CONFIDENTIAL - UNDER SEAL"
    paper: str = "A4"  # or "Letter"
    consent: ConsentSection | None = None
    redactions: list[RedactionRow] | None = None  # None: not a redacted dossier (no log shown)
    seal_fingerprint: str = ""  # SHA-256 of the seal certificate (DER), hex
    seal_note: str = ""  # what kind of seal this is (self-signed offline default, organisation, timestamped)
    redaction_marks: list[str] = field(default_factory=list)  # "[Survivor S-1]"...: drawn in a distinct style

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}")
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}")
        if self.paper not in PAPERS:
            raise ValueError(f"paper must be one of {PAPERS}")
