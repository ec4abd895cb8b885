"""Redaction commands: `faces`, `redact-file` (no vault needed) and `redact` (derivatives in a vault)."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from app.cli.terminal import ProgressBar, clean_text
from app.errors import EvidenceVaultError, InvalidInput

if TYPE_CHECKING:
    from app.redact.faces import Box
    from app.redact.kept import KeptFace

METHODS = ("fill", "pixelate")
AUDIO_CHOICES = ("keep", "mute", "disguise")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    faces = subparsers.add_parser("faces", help="find faces in photos or videos (no vault needed)")
    faces.add_argument("files", nargs="+", type=Path, metavar="FILE")
    faces.add_argument("--json", action="store_true", help="one JSON object per line per file")
    faces.set_defaults(func=cmd_faces)

    redact_file = subparsers.add_parser("redact-file", help="write a redacted copy with no metadata (no vault)")
    redact_file.add_argument("input", type=Path, metavar="IN")
    redact_file.add_argument("output", type=Path, metavar="OUT")
    redact_file.add_argument("--method", choices=METHODS, default="fill")
    redact_file.add_argument("--audio", choices=AUDIO_CHOICES, default="keep")
    redact_file.add_argument("--accept-residual", action="store_true",
                             help="write the copy even if faces are still detected after redacting")
    redact_file.set_defaults(func=cmd_redact_file)

    redact = subparsers.add_parser("redact", help="make a redacted derivative of an item; prints its id")
    redact.add_argument("item_id", type=int, metavar="ITEM")
    redact.add_argument("--faces", action="store_true", help="cover faces (photos, videos)")
    redact.add_argument("--names", action="store_true", help="replace protected names by pseudonyms")
    redact.add_argument("--no-faces", action="store_true", help="leave faces (only with a reviewer's reason)")
    redact.add_argument("--no-names", action="store_true", help="leave names as they are")
    redact.add_argument("--redacted-names", action="store_true", help="replace names by [REDACTED] instead")
    redact.add_argument("--method", choices=METHODS, default="fill")
    redact.add_argument("--audio", choices=AUDIO_CHOICES,
                        help="the sound of a video or recording (default: removed when a protected person is "
                             "linked to the item, as at export; kept otherwise)")
    redact.add_argument("--accept-residual", action="store_true",
                        help="a reviewer checked the faces still detected after redacting")
    redact.add_argument("--keep-face", action="append", default=[], metavar="[FRAME:]X,Y,W,H",
                        help="leave this face visible: photos X,Y,W,H (pixels of the photo as shown); videos "
                             "FRAME:X,Y,W,H (a frame, numbered from 0, where the face is seen; it is followed "
                             "through its shot). Repeat for several faces. Each needs --keep-person and a "
                             "--keep-reason")
    redact.add_argument("--keep-person", action="append", default=[], type=int, metavar="PERSON",
                        help="whose face it is (a person who is not protected); the n-th goes with the n-th "
                             "--keep-face")
    redact.add_argument("--keep-reason", action="append", default=[], metavar="TEXT",
                        help="why the face is kept (e.g. the lawyer's decision for this audience): once for all "
                             "kept faces, or once per --keep-face")
    redact.add_argument("--decided-by", metavar="NAME",
                        help="who decided to keep the faces visible (default: you, the vault's actor)")
    redact.add_argument("--json", action="store_true",
                        help="print the proposal as JSON (the face boxes a reviewer can edit for --boxes)")
    redact.add_argument("--boxes", metavar="FILE",
                        help="cover exactly these reviewed face boxes (JSON as --json prints it; - reads standard "
                             "input) instead of the detector's")
    redact.add_argument("--yes", action="store_true", help="apply; without it only the proposal is printed")
    redact.set_defaults(func=cmd_redact)


def _kind_of(path: Path) -> str:
    from app.media.sniff import sniff_kind

    if not path.is_file():
        raise InvalidInput(f"'{clean_text(str(path))}' is not a file that can be read.")
    with path.open("rb") as handle:
        head = handle.read(4096)
    kind, _ = sniff_kind(head, path.name)
    return kind


def cmd_faces(args: argparse.Namespace) -> int:
    from app.redact.faces import FaceDetector

    detector = None
    failures = 0
    for path in args.files:
        try:
            kind = _kind_of(path)
            if kind == "photo":
                detector = detector or FaceDetector()
                width, height, boxes = detector.detect_image_file(path)
                record = {"file": str(path), "width": width, "height": height,
                          "boxes": [[*b.to_list(), round(float(b.score), 4)] for b in boxes]}
                summary = f"{len(boxes)} face area(s)"
            elif kind == "video":
                from app.redact.video import detect_video

                bar = ProgressBar(path.name[:30])
                try:
                    detection = detect_video(path, progress=bar)
                finally:
                    bar.finish()
                frames = [{"index": i, "boxes": [[*b.to_list(), round(float(b.score), 4)] for b in boxes]}
                          for i, boxes in enumerate(detection.frames)]
                record = {"file": str(path), "width": detection.width, "height": detection.height, "frames": frames}
                summary = f"{sum(1 for f in frames if f['boxes'])} of {len(frames)} frames with face areas"
            else:
                raise InvalidInput("Only photos and videos can be searched for faces.")
        except EvidenceVaultError as error:
            failures += 1
            print(f"evidence-vault: {clean_text(str(path))}: {error.user_message()}", file=sys.stderr)
            continue
        if args.json:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            print(f"{clean_text(str(path))}: {summary}")
    return 1 if failures else 0


def cmd_redact_file(args: argparse.Namespace) -> int:
    source, target = args.input, args.output
    if target.exists() and target.resolve() == source.resolve():
        raise InvalidInput("The redacted copy must not overwrite the original. Choose another output name.")
    _check_output_path(target)
    kind = _kind_of(source)
    # A fresh seed per copy: a fixed one would make the voice shift and mosaic noise known to everyone.
    seed = secrets.randbits(31)
    if kind == "photo":
        _redact_photo_file(source, target, args, seed)
    elif kind == "video":
        from app.redact.video import redact_video

        bar = ProgressBar(source.name[:30])
        try:
            if target.suffix.lower() not in (".mp4", ".m4v"):
                raise InvalidInput("A redacted video is written as MP4: give the output a name ending in .mp4.")
            redact_video(source, target, method=args.method, audio=args.audio, seed=seed, progress=bar)
        finally:
            bar.finish()
    elif kind == "audio":
        from app.redact.derive import _redact_audio

        if args.audio == "keep":
            raise InvalidInput("For a sound recording choose --audio mute or --audio disguise.")
        if target.suffix.lower() not in (".m4a", ".mp4"):
            raise InvalidInput("A redacted recording is written as AAC in MP4: give the output a name ending in .m4a.")
        with source.open("rb") as stream:
            _write_atomically(target, lambda sink: _redact_audio(stream, sink, args.audio, seed, None))
    else:
        raise InvalidInput("Only photos, videos and sound recordings can be redacted with redact-file.")
    print(f"Wrote {target}", file=sys.stderr)
    return 0


def _check_output_path(target: Path) -> None:
    if target.is_dir():
        raise InvalidInput(f"'{clean_text(str(target))}' is a folder. Give the name of the file to write.")
    if not target.parent.is_dir():
        raise InvalidInput(
            f"The folder '{clean_text(str(target.parent))}' does not exist. Create it first or choose another place."
        )


def _redact_photo_file(source: Path, target: Path, args: argparse.Namespace, seed: int) -> None:
    import io

    from app.redact.derive import ResidualFaces
    from app.redact.faces import FaceDetector
    from app.redact.photo import redact_image

    detector = FaceDetector()
    _, _, boxes = detector.detect_image_file(source)
    fmt: Literal["png", "jpeg"] = "jpeg" if target.suffix.lower() in (".jpg", ".jpeg") else "png"
    buffer = io.BytesIO()
    result = redact_image(source, buffer, boxes, method=args.method, seed=seed, output_format=fmt,
                          detector=detector)
    if result.residual_faces and not args.accept_residual:
        raise ResidualFaces(list(result.residual_faces))
    _write_atomically(target, lambda sink: sink.write(buffer.getvalue()))
    print(f"{len(result.boxes)} face area(s) covered", file=sys.stderr)


def _write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    import contextlib
    import errno
    import os

    from app.errors import DiskFull

    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("xb") as sink:
            write(sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(partial, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink()
        if error.errno == errno.ENOSPC:
            raise DiskFull() from None
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def _audio_choice(vault: Any, args: argparse.Namespace) -> str:
    """The reviewer's --audio, or the export's default for this item's sound (a protected voice is removed)."""
    from app.redact.derive import audio_policy, media_class

    if args.audio is not None:
        return str(args.audio)
    return audio_policy(vault, args.item_id) if media_class(vault.get_item(args.item_id)) in ("video", "audio") \
        else "keep"


def cmd_redact(args: argparse.Namespace) -> int:
    from app.cli.vault_cmds import open_vault
    from app.redact.derive import propose, redact_item

    faces, names = args.faces, args.names or args.redacted_names
    if not faces and not names:
        faces = names = True  # nothing chosen (an audio choice is additive): the safe default is everything
    faces = faces and not args.no_faces
    names = names and not args.no_names
    if args.boxes is not None and not faces:
        raise InvalidInput("--boxes are face boxes to cover: leave out --no-faces.")
    if args.json and args.yes:
        raise InvalidInput("--json prints the proposal without changing anything: leave out --yes.")
    with open_vault(args) as vault:
        audio = _audio_choice(vault, args)
        keep = _kept_faces(vault, args)
        # The review file is checked before anything else, with or without --yes: a mistake in it shows now.
        boxes, frames_boxes = _reviewed_boxes(vault, args)
        if not args.yes:
            proposal = propose(vault, args.item_id, faces=faces, names=names, progress=ProgressBar("detect"))
            if args.json:
                from app.cli.review_boxes import proposal_json

                print(json.dumps(proposal_json(proposal)))
                return 0
            print(proposal.summary())
            if args.audio is None and audio != "keep":
                print("  sound: removed, as a protected person is linked to this item "
                      "(--audio keep or --audio disguise to choose otherwise)")
            for face in keep:
                frame = "" if face.frame is None else f" on frame {face.frame} (followed through its shot)"
                print(f"  face kept visible at {face.box.to_list()}{frame}: {_person_label(vault, face.person_id)}; "
                      f"reason: {clean_text(face.reason)}; decided by {clean_text(face.decided_by)}")
            if boxes is not None:
                print(f"  reviewed face boxes from {clean_text(args.boxes)}: {len(boxes)}; with --yes exactly these "
                      "are covered instead of the detector's")
            if frames_boxes is not None:
                print(f"  reviewed face boxes from {clean_text(args.boxes)}: {sum(map(len, frames_boxes))} on "
                      f"{len(frames_boxes)} frames; with --yes exactly these are covered instead of the detector's")
            print("Nothing was changed. Run again with --yes to make the redacted copy.", file=sys.stderr)
            return 0
        bar = ProgressBar("redact")
        try:
            result = redact_item(vault, args.item_id, faces=faces, names=names, method=args.method,
                                 audio=audio, name_mode="redacted" if args.redacted_names else "pseudonym",
                                 boxes=boxes, frames_boxes=frames_boxes, accept_residual=args.accept_residual,
                                 progress=bar, keep_faces=keep or None)
        finally:
            bar.finish()
    print(result.item_id)
    for entry in result.params.get("kept_faces") or []:
        if "visible_frame_count" in entry:
            print(f"note: the face kept from frame {entry['frame']} was left visible on {entry['visible_frame_count']} "
                  "frame(s); where tracking was unsure it stayed covered (flagged for review)", file=sys.stderr)
    if result.residual_faces:
        print(f"note: {len(result.residual_faces)} residual face detection(s) accepted by the reviewer",
              file=sys.stderr)
    return 0


def _reviewed_boxes(vault: Any, args: argparse.Namespace) -> tuple[list[Box] | None, list[list[Box]] | None]:
    """The reviewer's boxes from --boxes, for the item's kind (none given: the detector's are applied)."""
    if args.boxes is None:
        return None, None
    from app.cli.review_boxes import read_review_boxes
    from app.redact.derive import media_class

    return read_review_boxes(args.boxes, media_class(vault.get_item(args.item_id)))


def _kept_faces(vault: Any, args: argparse.Namespace) -> list[KeptFace]:
    """The faces to leave visible from --keep-face/--keep-person/--keep-reason, checked against the vault."""
    from app.redact.faces import Box
    from app.redact.kept import KeptFace, check_kept_faces

    boxes, persons, reasons = args.keep_face, args.keep_person, args.keep_reason
    if not boxes and not persons and not reasons:
        return []
    if len(persons) != len(boxes):
        raise InvalidInput("Give one --keep-person for each --keep-face (the n-th person goes with the n-th face).")
    if len(reasons) not in (1, len(boxes)):
        raise InvalidInput("Give one --keep-reason for all kept faces, or one for each --keep-face.")
    decided_by = args.decided_by
    if decided_by is None:
        profile = vault.actor_profile()
        decided_by = f"{profile.name} ({profile.role})" if profile.role else profile.name
    kept = []
    for index, text in enumerate(boxes):
        frame_text, _, box_text = text.rpartition(":")
        try:
            x, y, w, h = (int(v) for v in box_text.split(","))
            frame = int(frame_text) if frame_text else None
        except ValueError:
            raise InvalidInput(f"'{clean_text(text)}' is not a box: write --keep-face X,Y,W,H in pixels for a "
                               "photo (e.g. --keep-face 630,10,140,200), or FRAME:X,Y,W,H for a video "
                               "(e.g. --keep-face 120:630,10,140,200).") from None
        reason = reasons[index] if len(reasons) == len(boxes) else reasons[0]
        kept.append(KeptFace(Box(x, y, w, h), persons[index], reason, decided_by, frame))
    return check_kept_faces(vault.list_persons(), kept)


def _person_label(vault: Any, person_id: int | None) -> str:
    for person in vault.list_persons():
        if person.id == person_id:
            return f"person {person_id} ({clean_text(person.pseudonym or person.name)}, {person.role})"
    return f"person {person_id}"
