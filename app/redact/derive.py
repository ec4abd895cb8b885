"""Redacted derivatives inside the vault.

A redaction never touches the original: it makes a new item linked to it (``derived_from``),
with the exact parameters (boxes per frame, method, seed, model and version, padding, audio
treatment, names replaced) stored on the item and in the custody chain, so that applying the
same parameters to the original reproduces the same bytes and an auditor can see what was
hidden where without seeing the face.  Redacted bytes go from memory (photos) or an encrypted
spool (videos, audio) straight into the vault: nothing readable reaches the disk.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from app.errors import EvidenceVaultError, InvalidInput, UnsupportedMedia
from app.progress import CancelToken, ProgressCallback
from app.redact.copies import link_like_original, redacted_title
from app.redact.faces import Box, boxes_from_lists
from app.redact.kept import KeptFace, check_kept_faces
from app.redact.kept_video import frame_runs

METHODS = ("fill", "pixelate")
AUDIO_CHOICES = ("keep", "mute", "disguise")
NAME_MODES = ("pseudonym", "redacted")


class ResidualFaces(EvidenceVaultError):
    """Faces were still found after redacting; a reviewer must add boxes or accept them."""

    def __init__(self, boxes: list[Box]) -> None:
        where = "; ".join(f"at x={b.x}, y={b.y}, {b.w}×{b.h} px" for b in boxes[:10])
        super().__init__(
            f"{len(boxes)} face(s) could still be seen after redacting ({where}). Add boxes over them, "
            "or, if a reviewer has checked they are not faces, accept them (--accept-residual)."
        )
        self.boxes = boxes


@dataclass
class DerivativeResult:
    item_id: int
    sha256: str
    kind: str
    params: dict[str, Any]
    residual_faces: list[Box] = field(default_factory=list)
    duplicate_of: int | None = None


@dataclass
class RedactionProposal:
    """What a redaction would do, for a reviewer (or `redact` without --yes) to look at first."""

    item_id: int
    kind: str
    width: int | None = None
    height: int | None = None
    boxes: list[Box] = field(default_factory=list)          # photos
    frames: list[list[Box]] = field(default_factory=list)   # videos
    names_found: list[str] = field(default_factory=list)    # protected names found in the item's texts
    suggestions: list[str] = field(default_factory=list)    # possible names not registered yet

    def summary(self) -> str:
        lines = [f"Item {self.item_id} ({self.kind})"]
        if self.width:
            lines.append(f"  size {self.width}×{self.height}")
        if self.kind == "photo":
            lines.append(f"  {len(self.boxes)} face area(s) to cover")
            lines += [f"    [{b.x}, {b.y}, {b.w}, {b.h}] score {b.score:.2f}" for b in self.boxes]
        if self.frames:
            with_faces = sum(1 for boxes in self.frames if boxes)
            lines.append(f"  {len(self.frames)} frames, {with_faces} with face areas to cover")
        if self.names_found:
            lines.append(f"  {len(self.names_found)} protected name occurrence(s) will be replaced")
        if self.suggestions:
            lines.append("  possible names not registered (review them; nothing is applied automatically):")
            lines += [f"    {s}" for s in self.suggestions[:50]]
        return "\n".join(lines)


def media_class(item: Any) -> str:
    """'photo', 'video', 'audio' or 'text' for the redaction pipeline, from kind and MIME type."""
    mime = (item.mime or "").lower()
    if mime.startswith("image/") or item.kind == "photo":
        return "photo"
    if mime.startswith("video/") or item.kind == "video":
        return "video"
    if mime.startswith("audio/") or item.kind == "audio":
        return "audio"
    return "text"


def audio_policy(vault: Any, item_id: int) -> str:
    """What happens to an item's sound when nobody chose otherwise (at export, and in a redacted copy made
    without a choice): when a protected person is linked to it (and may be heard), the sound is removed,
    as a recording of them is withheld; a disguised voice is only ever a reviewer's explicit choice.
    Otherwise the sound is kept."""
    return "mute" if any(person.protected for person in vault.persons_for_item(item_id)) else "keep"


def _name_redactor(vault: Any, mode: str) -> Any:
    from app.redact.names import redactor_from_persons

    return redactor_from_persons(vault.list_persons(), mode="redacted" if mode == "redacted" else "pseudonym")


def _texts_of(vault: Any, item: Any) -> list[str]:
    texts = [item.title or "", item.description or "", *(item.tags or ()), item.original_name or ""]
    texts += [note.text for note in vault.notes(item.id)]
    texts += [segment.text for segment in vault.transcript(item.id)]
    texts += [segment.speaker or "" for segment in vault.transcript(item.id)]
    return [t for t in texts if t]


def propose(vault: Any, item_id: int, *, faces: bool = True, names: bool = True,
            progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> RedactionProposal:
    item = vault.get_item(item_id)
    kind = media_class(item)
    proposal = RedactionProposal(item_id=item_id, kind=kind)
    if faces and kind == "photo":
        from app.redact.photo import propose as propose_photo

        with vault.open_original(item_id) as stream:
            photo = propose_photo(stream)
        proposal.width, proposal.height, proposal.boxes = photo.width, photo.height, list(photo.boxes)
    elif faces and kind == "video":
        from app.redact.video import detect_video

        with vault.open_original(item_id) as stream:
            detection = detect_video(stream, progress=progress, cancel=cancel)
        proposal.width, proposal.height, proposal.frames = detection.width, detection.height, detection.frames
    if names:
        from app.redact.name_suggest import suggest_names

        redactor = _name_redactor(vault, "pseudonym")
        for text in _texts_of(vault, item):
            proposal.names_found += [match.matched for match in redactor.find(text)]
            proposal.suggestions += [s.text for s in suggest_names(text, known=redactor)]
        proposal.suggestions = sorted(set(proposal.suggestions))
    return proposal


def redact_item(
    vault: Any,
    item_id: int,
    *,
    faces: bool = True,
    names: bool = True,
    method: str = "fill",
    audio: str = "keep",
    name_mode: str = "pseudonym",
    boxes: list[Box] | None = None,
    frames_boxes: list[list[Box]] | None = None,
    accept_residual: bool = False,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    keep_faces: list[KeptFace] | None = None,
) -> DerivativeResult:
    """Make the redacted derivative of one item and record it in the custody chain.

    ``boxes`` (photos) or ``frames_boxes`` (videos) are the reviewer's final boxes; without them
    the detector's proposal is applied.  Faces still found on a redacted photo raise
    :class:`ResidualFaces` (nothing is stored) unless ``accept_residual``.

    ``keep_faces`` are faces reviewers decided to leave visible, each naming a person who is not
    protected, the reason and who decided, and each recorded in the derivation (``kept_faces``). On a
    photo, boxes lying mostly inside them are not applied and faces found there afterwards are not
    residual. In a video each names a frame: the face is followed through its shot and left visible
    where tracking is sure of it (``app.redact.kept_video``); the frames are recorded
    (``visible_frames``), the others stay covered and are flagged. With ``frames_boxes`` too the
    video is analysed again and the review merged in (``kept_video.merge_reviewed``): boxes the
    reviewer drew or changed are always drawn, even over a kept face.
    """
    if method not in METHODS:
        raise InvalidInput(f"Choose the redaction method: {' or '.join(METHODS)}.")
    if audio not in AUDIO_CHOICES:
        raise InvalidInput(f"Choose what to do with the sound: {', '.join(AUDIO_CHOICES)}.")
    if name_mode not in NAME_MODES:
        raise InvalidInput(f"Choose how names are replaced: {' or '.join(NAME_MODES)}.")
    if not faces and not names and audio == "keep":
        raise InvalidInput("Say what to redact: faces, names, or the voice (audio).")
    item = vault.get_item(item_id)
    if item.derived_from is not None and item.derivation and item.derivation.get("redaction"):
        raise InvalidInput(f"Item {item_id} is already a redacted copy; redact its original, item {item.derived_from}.")
    kind = media_class(item)
    kept: list[KeptFace] = []
    if keep_faces:
        if kind not in ("photo", "video") or not faces:
            raise InvalidInput("Faces can be kept visible on photos and videos whose faces are redacted; for this "
                               "item leave out the faces to keep.")
        kept = check_kept_faces(vault.list_persons(), keep_faces)
        _check_kept_for(kind, kept, frames_boxes)
    seed = secrets.randbits(31) if seed is None else seed
    redactor = _name_redactor(vault, name_mode) if names else None
    residual: list[Box] = []
    title = redacted_title(redactor.redact(item.title or "") if redactor else item.title, item_id)
    name = _derivative_name(item.original_name, redactor, kind)
    base_params: dict[str, Any] = {
        "redaction": 1,
        "original_item": item_id,
        "original_sha256": item.sha256,
        "faces": faces,
        "names": {"mode": name_mode, "persons": _protected_ids(vault)} if names else None,
        "seed": seed,
    }
    kept_records = [face.to_dict() for face in kept]  # videos add the frames each face was left visible on
    if kept:  # only when some are kept: derivations made without them stay exactly as before
        base_params["kept_faces"] = kept_records

    def store(stream: Any, *, out_name: str, out_kind: str, mime: str, params: dict[str, Any],
              with_progress: bool = False) -> Any:
        """The copy, its item_ingested event and the "redacted" event on the original: one transaction."""
        event = ("redacted", {
            "kind": out_kind, "method": method if faces else None, "audio": audio, "seed": seed,
            "residual_faces_accepted": [b.to_list() for b in residual],
            **({"kept_faces": kept_records} if kept else {}),
        })
        return vault.ingest_stream(stream, name=out_name, kind=out_kind, case_id=item.case_id,
                                   derived_from=item_id, derivation={**base_params, **params}, title=title,
                                   mime=mime, derived_event=event, progress=progress if with_progress else None,
                                   cancel=cancel)

    if kind == "photo" and faces:
        data, params, residual = _redact_photo(vault, item_id, boxes, method, seed, accept_residual,
                                               kept=[face.box for face in kept])
        result = store(io.BytesIO(data), out_name=name, out_kind="photo", mime=params["mime"], params=params,
                       with_progress=True)
    elif kind == "video" and (faces or audio != "keep"):
        from app.redact.video import redact_video

        spool = _spool(vault)
        try:
            with vault.open_original(item_id) as stream:
                video = redact_video(stream, spool, frames_boxes=frames_boxes if faces else [],
                                     method=method, audio=audio, seed=seed, progress=progress, cancel=cancel,
                                     kept_faces=_kept_requests(kept))
            params = {"media": "video", **_plain(video.params)}
            for record, visible in zip(kept_records, video.kept_visible, strict=True):
                record["visible_frames"] = frame_runs(visible)
                record["visible_frame_count"] = len(visible)
            with spool.reader() as reader:
                result = store(reader, out_name=name, out_kind=item.kind, mime="video/mp4", params=params)
        finally:
            spool.close()
    elif kind == "audio" and audio != "keep":
        spool = _spool(vault)
        try:
            with vault.open_original(item_id) as stream:
                params = _redact_audio(stream, spool, audio, seed, cancel)
            with spool.reader() as reader:
                result = store(reader, out_name=_with_suffix(name, ".m4a"), out_kind=item.kind, mime="audio/mp4",
                               params=params)
        finally:
            spool.close()
    elif names:
        segments = vault.transcript(item_id)
        if not segments:
            raise UnsupportedMedia(
                "This item has no transcript and no faces to redact; titles, notes and tags are redacted "
                "automatically when you export."
            )
        params = {"media": "transcript", "format": "text/vtt"}
        result = store(io.BytesIO(_redacted_webvtt(segments, redactor)), out_name=_with_suffix(name, ".vtt"),
                       out_kind="transcript", mime="text/vtt", params=params)
    else:
        raise UnsupportedMedia("There is nothing to redact in this item with the options chosen.")

    out_kind = vault.get_item(result.item_id).kind
    if redactor is not None and result.duplicate_of is None:
        _copy_redacted_transcript(vault, item_id, result.item_id, redactor)
    if result.duplicate_of is None:
        link_like_original(vault, result.item_id, item_id)
    derivation = {**base_params, **params}
    return DerivativeResult(item_id=result.item_id, sha256=result.sha256, kind=out_kind, params=derivation,
                            residual_faces=residual, duplicate_of=result.duplicate_of)


def replay(vault: Any, derivative_id: int, *, cancel: CancelToken | None = None) -> str:
    """Apply a derivative's recorded parameters to its original again; return the SHA-256 obtained.

    For photos this reproduces the derivative byte for byte (an auditor's check that the record
    says exactly what was done)."""
    derivative = vault.get_item(derivative_id)
    params = derivative.derivation or {}
    if not params.get("redaction") or derivative.derived_from is None:
        raise InvalidInput(f"Item {derivative_id} is not a redacted copy.")
    if params.get("media") != "photo":
        raise UnsupportedMedia("Replaying is available for photos; for videos compare the recorded boxes per frame.")
    data, _, _ = _redact_photo(vault, derivative.derived_from, boxes_from_lists(params["boxes"]),
                               params["method"], params["seed"], accept_residual=True)
    import hashlib

    return hashlib.sha256(data).hexdigest()


# -- helpers ---------------------------------------------------------------------------------


def _check_kept_for(kind: str, kept: list[KeptFace], frames_boxes: list[list[Box]] | None) -> None:
    """Photos' kept faces have no frame; videos' each name one, and are followed by face detection."""
    if kind == "photo":
        if any(face.frame is not None for face in kept):
            raise InvalidInput("A photo has no frames: give the face to keep as X,Y,W,H, without a frame number.")
        return
    if any(face.frame is None for face in kept):
        raise InvalidInput("For a video, say on which frame the face to keep is seen: FRAME:X,Y,W,H "
                           "(frames numbered from 0), e.g. 120:300,80,90,110.")
    if frames_boxes is not None and any(int(face.frame or 0) >= len(frames_boxes) for face in kept):
        raise InvalidInput(f"The video has {len(frames_boxes)} frames, numbered from 0: give the frame where the "
                           "face to keep is seen.")


def _kept_requests(kept: list[KeptFace]) -> list[Any]:
    from app.redact.kept_video import KeptRequest

    return [KeptRequest(int(face.frame or 0), face.box) for face in kept]



def _redact_photo(vault: Any, item_id: int, boxes: list[Box] | None, method: str, seed: int,
                  accept_residual: bool, kept: list[Box] | None = None) -> tuple[bytes, dict[str, Any], list[Box]]:
    from app.redact.faces import FaceDetector
    from app.redact.photo import mostly_inside, redact_image

    detector = FaceDetector()
    with vault.open_original(item_id) as stream:
        if boxes is None:
            _, _, boxes = detector.detect_image_file(stream)
            stream.seek(0)
        if kept:  # a box over a kept face (the detector's, or a reviewer's left over) is not applied
            boxes = [b for b in boxes if not mostly_inside(b, kept)]
        output = io.BytesIO()
        photo = redact_image(stream, output, boxes, method="pixelate" if method == "pixelate" else "fill", seed=seed,
                             detector=detector, kept=kept or ())
    if photo.residual_faces and not accept_residual:
        raise ResidualFaces(photo.residual_faces)
    params = {"media": "photo", **_plain(photo.to_dict())}
    params["boxes"] = [b.to_list() for b in photo.boxes]
    return output.getvalue(), params, list(photo.residual_faces)


def _redact_audio(stream: Any, sink: Any, audio: str, seed: int, cancel: CancelToken | None) -> dict[str, Any]:
    from app.media.ffmpeg_io import MediaInput
    from app.media.ffmpeg_runner import FfmpegProcess, decode_failure
    from app.redact.video import disguise_filter

    command = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-protocol_whitelist", "file,pipe"]
    params: dict[str, Any] = {"media": "audio", "audio": {"mode": audio}}
    with MediaInput(stream) as media_input:
        command += ["-i", media_input.url(), "-map", "0:a:0", "-vn", "-sn", "-dn",
                    "-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact"]
        if audio == "mute":
            command += ["-af", "volume=0"]
        else:
            chain, disguise = disguise_filter(seed)
            command += ["-af", chain]
            params["audio"].update(disguise)
        command += ["-c:a", "aac", "-b:a", "96k", "-flags:a", "+bitexact",
                    "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "pipe:1"]
        # stderr is drained on a thread: a damaged file makes ffmpeg write far more than a pipe holds
        with FfmpegProcess(command, feed=media_input.feed_stream(), pass_fds=media_input.pass_fds(),
                           cancel=cancel) as process:
            for chunk in iter(lambda: process.stdout.read(1024 * 1024), b""):
                if cancel is not None:
                    cancel.check()
                sink.write(chunk)
            if process.wait() != 0:
                raise decode_failure(process.stderr_tail(), "This recording could not be decoded to disguise or "
                                     "mute the voice: it seems damaged or truncated. Check the original recording, "
                                     "then try again.")
    params["encoder"] = "aac 96k, fragmented MP4, bitexact"
    return params


def _spool(vault: Any) -> Any:
    from app.vault.spool import EncryptedSpool

    return EncryptedSpool(Path(vault.path).parent)


def _protected_ids(vault: Any) -> list[int]:
    return sorted(person.id for person in vault.list_persons() if person.protected)


def _derivative_name(original: str, redactor: Any, kind: str) -> str:
    from app.redact.names import redact_filename

    stem, suffix = PurePath(original or "item").stem, PurePath(original or "").suffix
    if redactor is not None:
        stem = redact_filename(stem, redactor)
    if kind == "photo":
        suffix = ".png"
    elif kind == "video":
        suffix = ".mp4"
    return f"{stem}.redacted{suffix}"


def _with_suffix(name: str, suffix: str) -> str:
    return str(PurePath(name).with_suffix(suffix))


def _format_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _redacted_webvtt(segments: list[Any], redactor: Any) -> bytes:
    lines = ["WEBVTT", ""]
    # Segments read as one text: a name split between two cues is redacted too.
    texts = redactor.redact_segments([segment.text for segment in segments])
    for segment, text in zip(segments, texts, strict=True):
        lines.append(f"{_format_time(segment.start)} --> {_format_time(max(segment.end, segment.start))}")
        speaker = redactor.redact(segment.speaker) if segment.speaker else None
        lines.append(f"<v {speaker}>{text}" if speaker else text)
        lines.append("")
    return "\n".join(lines).encode("utf-8")


def _copy_redacted_transcript(vault: Any, source_id: int, target_id: int, redactor: Any) -> None:
    from app.vault.models import Segment

    segments = vault.transcript(source_id)
    if not segments:
        return
    texts = redactor.redact_segments([s.text for s in segments])  # a name split between segments too
    vault.set_transcript(target_id, [
        Segment(start=s.start, end=s.end, speaker=redactor.redact(s.speaker) if s.speaker else None,
                language=s.language, text=text)
        for s, text in zip(segments, texts, strict=True)
    ])


def _plain(value: Any) -> Any:
    """Parameters as canonical-JSON values (floats kept finite, tuples as lists, numpy as Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    if isinstance(value, Box):
        return value.to_list()
    return value
