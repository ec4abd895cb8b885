"""Checkpoints: signed Merkle tree heads, short enough to send in a text message or read aloud.

The format is a C2SP ``signed-note`` whose text follows C2SP ``tlog-checkpoint``, so existing
transparency-log tools can read it::

    evidence-vault/053fd518890fea59               <- origin (also the signing key's name)
    3                                             <- tree size, ASCII decimal, no leading zeros
    QXVbmKZpSzg6Z0BzecmtaET9qiWm9pQNJk5pjgYEyv4=  <- base64 (RFC 4648 §4) of the 32-byte root
    time 2026-11-25T14:58:10Z                     <- our one extension line, whole seconds, UTC
                                                  <- blank line
    — evidence-vault/053fd518890fea59 Wn7h93fvGCllSzoxVSvjvUDkXuaYp8hXa6ACghpPTSF3UYlsjaxrC599lPps...
                                                  <- base64(4-byte key ID || 64-byte signature)

The signature is Ed25519 over the note text: the four lines above, each ending in ``\\n``.  The key ID
is ``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]`` (signed-note, type 0x01 = Ed25519).

Parsing is strict: exactly four text lines, canonical numbers and base64, the one ``time`` extension.
The only leniency is for transport damage that cannot change meaning: CRLF line ends and surrounding
whitespace are removed before parsing.  Malformed text and bad signatures raise ProofError.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.errors import InvalidInput, ProofError
from app.vault.keys import key_id, public_key_bytes

SIGNATURE_TYPE_ED25519 = b"\x01"
ORIGIN_PREFIX = "evidence-vault/"
EM_DASH = "\u2014"
MAX_TREE_SIZE = 2**63 - 1
MAX_ORIGIN_LENGTH = 128
MAX_SIGNATURES = 16
_SIZE = re.compile(r"0|[1-9][0-9]*")
_TIME_LINE = re.compile(r"time (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})Z")
_INPUT_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?Z")


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint.  ``key_id`` is the signed-note key ID as 8 lowercase hex digits (not
    :func:`app.vault.keys.key_id`); ``signature`` the 64-byte Ed25519 signature over ``body``."""

    origin: str
    tree_size: int
    root: bytes
    time: str  # "2026-11-25T14:56:22Z"
    key_id: str
    signature: bytes
    body: str = field(default="", repr=False)  # the signed note text, incl. its final newline
    key_name: str = ""


def _malformed(what: str, detail: str = "") -> ProofError:
    return ProofError(
        f"This checkpoint is malformed ({what}). Copy the complete checkpoint text again, "
        "from the first line to the signature line.",
        debug_detail=detail,
    )


def _valid_name(name: str) -> bool:
    return (
        0 < len(name) <= MAX_ORIGIN_LENGTH
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in name)
    )


def vault_origin(public_key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The origin (and key name) Evidence Vault uses: ``evidence-vault/`` + the 16-hex key id."""
    return ORIGIN_PREFIX + key_id(public_key)


def note_key_id(name: str, public_key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 4-byte signed-note key ID: SHA-256(name || 0x0A || 0x01 || raw public key)[:4]."""
    material = name.encode("utf-8") + b"\n" + SIGNATURE_TYPE_ED25519 + public_key_bytes(public_key)
    return hashlib.sha256(material).digest()[:4]


def _checkpoint_time(value: str) -> str:
    """Whole-second UTC time for the extension line, from a project time string (fraction dropped)."""
    match = _INPUT_TIME.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise InvalidInput(
            "The checkpoint time is not a UTC time like 2026-11-25T14:56:22Z.", debug_detail=repr(value)
        )
    try:
        datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:
        raise InvalidInput("The checkpoint time is not a real date and time.", debug_detail=value) from exc
    return match.group(1) + "Z"


def checkpoint_body(*, origin: str, tree_size: int, root: bytes, time: str) -> str:
    """The note text that is signed (four lines, each ending in a newline)."""
    if not isinstance(origin, str) or not _valid_name(origin):
        raise InvalidInput(
            "The checkpoint origin must be short text without spaces or '+'.", debug_detail=repr(origin)
        )
    if isinstance(tree_size, bool) or not isinstance(tree_size, int) or not 0 <= tree_size <= MAX_TREE_SIZE:
        raise InvalidInput("The checkpoint tree size is not valid.", debug_detail=repr(tree_size))
    if not isinstance(root, bytes | bytearray) or len(root) != 32:
        raise InvalidInput("The checkpoint root must be a 32-byte SHA-256 hash.", debug_detail=repr(root))
    root_b64 = base64.b64encode(bytes(root)).decode("ascii")
    return f"{origin}\n{tree_size}\n{root_b64}\ntime {_checkpoint_time(time)}\n"


def sign_checkpoint(*, origin: str, tree_size: int, root: bytes, time: str, key: Ed25519PrivateKey) -> str:
    """The signed checkpoint text; ``time`` is a UTC RFC 3339 string, written to whole seconds."""
    body = checkpoint_body(origin=origin, tree_size=tree_size, root=root, time=time)
    signature = key.sign(body.encode("utf-8"))
    blob = base64.b64encode(note_key_id(origin, key) + signature).decode("ascii")
    return f"{body}\n{EM_DASH} {origin} {blob}\n"


def _strict_b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise _malformed(f"the {what} is not valid base64", repr(text)) from exc
    if base64.b64encode(raw).decode("ascii") != text:  # one spelling only, so the text is canonical
        raise _malformed(f"the {what} is not in canonical base64", repr(text))
    return raw


def _signature_lines(block: str) -> list[tuple[str, bytes, bytes]]:
    lines = block.split("\n")
    if lines[-1] != "":
        raise _malformed("the signature line does not end properly")
    lines = lines[:-1]
    if not lines:
        raise _malformed("the signature line is missing")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed("it has too many signature lines")
    result = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not _valid_name(parts[1]):
            raise _malformed("a signature line is not '— <name> <signature>'", repr(line))
        blob = _strict_b64(parts[2], "signature")
        if len(blob) < 5:
            raise _malformed("a signature is too short", repr(line))
        result.append((parts[1], blob[:4], blob[4:]))
    return result


def _parse(text: str | bytes) -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """The checkpoint (from the first signature line under the origin's name) and all signature lines."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed("it is not UTF-8 text") from exc
    if not isinstance(text, str):
        raise _malformed("it is not text", type(text).__name__)
    text = text.replace("\r\n", "\n").strip() + "\n"
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text) or "\x7f" in text:
        raise _malformed("it contains control characters")
    separator = text.rfind("\n\n")
    if separator < 0:
        raise _malformed("the blank line before the signature is missing")
    body, signature_block = text[: separator + 1], text[separator + 2 :]
    lines = body.split("\n")[:-1]
    if len(lines) != 4:
        raise _malformed(f"expected 4 lines before the blank line, found {len(lines)}", repr(body))
    origin, size_line, root_line, time_line = lines
    if not _valid_name(origin):
        raise _malformed("the first line is not a valid origin", repr(origin))
    if not _SIZE.fullmatch(size_line) or int(size_line) > MAX_TREE_SIZE:
        raise _malformed("the second line is not a tree size", repr(size_line))
    root = _strict_b64(root_line, "root hash")
    if len(root) != 32:
        raise _malformed("the root hash is not 32 bytes", repr(root_line))
    time_match = _TIME_LINE.fullmatch(time_line)
    if not time_match:
        raise _malformed("the fourth line is not 'time YYYY-MM-DDTHH:MM:SSZ'", repr(time_line))
    try:
        datetime.strptime(time_match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:
        raise _malformed("the time is not a real date and time", repr(time_line)) from exc
    signatures = _signature_lines(signature_block)
    own = [(kid, sig) for name, kid, sig in signatures if name == origin]
    if not own:
        raise _malformed("no signature line carries the origin's name", repr(signature_block))
    kid, sig = own[0]
    if len(sig) != 64:
        raise _malformed("the signature is not an Ed25519 signature of 64 bytes", repr(signature_block))
    checkpoint = Checkpoint(
        origin=origin,
        tree_size=int(size_line),
        root=root,
        time=time_match.group(1) + "Z",
        key_id=kid.hex(),
        signature=sig,
        body=body,
        key_name=origin,
    )
    return checkpoint, signatures


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint text strictly (does NOT check the signature: use :func:`verify_checkpoint`).

    Raises ProofError saying what is wrong when the text is not a well-formed checkpoint with a
    signature line under its own origin name.  Other signature lines (e.g. witness cosignatures)
    must be well-formed and are otherwise ignored.
    """
    return _parse(text)[0]


def verify_checkpoint(text: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """Parse and check the signature against ``public_key``; raises ProofError on any failure.

    Per signed-note, lines signed by other keys (e.g. witnesses) are ignored; a line whose name is
    the origin and whose key ID matches ``public_key`` must be present, and every such line must
    verify.  The returned Checkpoint carries that line's key ID and signature.
    """
    checkpoint, signatures = _parse(text)
    if isinstance(public_key, Ed25519PrivateKey):
        public_key = public_key.public_key()
    if not isinstance(public_key, Ed25519PublicKey):
        raise ProofError("The key given for checking the checkpoint is not an Ed25519 public key.")
    expected_id = note_key_id(checkpoint.origin, public_key)
    candidates = [
        sig for name, kid, sig in signatures if name == checkpoint.origin and kid == expected_id
    ]
    if not candidates:
        raise ProofError(
            "This checkpoint was not signed by the expected vault key. It may come from another vault, "
            "or it was forged.",
            debug_detail=f"key id in checkpoint {checkpoint.key_id}, expected {expected_id.hex()}",
        )
    for signature in candidates:
        try:
            if len(signature) != 64:
                raise InvalidSignature()
            public_key.verify(signature, checkpoint.body.encode("utf-8"))
        except InvalidSignature as exc:
            raise ProofError(
                "The checkpoint's signature is not valid: its text was changed after signing, "
                "or it was forged.",
                debug_detail=f"origin {checkpoint.origin}, tree size {checkpoint.tree_size}",
            ) from exc
    return replace(checkpoint, key_id=expected_id.hex(), signature=candidates[0])
