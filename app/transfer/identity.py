"""Headquarters identities: an X25519 key packages are encrypted to, an Ed25519 key receipts and
cosignatures are signed with, and a name (the witness name in cosignature lines).

``hq-public.pem``, the file a field laptop is given (docs/FORMAT.md, "Transfer packages" / "Identity files")::

    evidence-vault hq public identity v1
    name hq.example.org
    -----BEGIN PUBLIC KEY-----      <- X25519 (SubjectPublicKeyInfo): packages are encrypted to it
    ...
    -----END PUBLIC KEY-----
    -----BEGIN PUBLIC KEY-----      <- Ed25519: receipts and cosignatures are checked with it
    ...
    -----END PUBLIC KEY-----

The private file has the first line ``evidence-vault hq identity v1`` and two ``ENCRYPTED PRIVATE KEY``
blocks (PKCS#8, encrypted with the passphrase) in the same order.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from app.transfer.errors import TransferError

PUBLIC_HEADER = "evidence-vault hq public identity v1"
PRIVATE_HEADER = "evidence-vault hq identity v1"
KEY_ID_PREFIX = b"evidence-vault hq key v1\n"
MAX_NAME_LENGTH = 128
MAX_FILE_BYTES = 64 << 10
_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----\n[A-Za-z0-9+/=\n]+-----END \1-----\n")


def check_name(name: str) -> str:
    """A headquarters name must be usable as a signed-note key name: short, no spaces, no '+'."""
    if (not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH or "+" in name
            or any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in name)):
        raise TransferError("The headquarters name must be short text without spaces or '+', for example "
                            "hq.example.org.", debug_detail=repr(name))
    return name


def _raw(key: X25519PublicKey | Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _spki(key: X25519PublicKey | Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _split(data: bytes, header: str, what: str) -> tuple[str, list[bytes]]:
    """(name, [pem block, pem block]) of an identity file; raises TransferError when malformed."""
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_FILE_BYTES:
        raise TransferError(f"This is not {what} (it is far too large). Check that you chose the right file.")
    try:
        text = bytes(data).decode("ascii").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise TransferError(f"This is not {what} (it is not plain text). Check that you chose the right "
                            "file.") from None
    lines = text.split("\n", 2)
    if len(lines) < 3 or lines[0].strip() != header or not lines[1].startswith("name "):
        raise TransferError(f"This is not {what}: its first line must be '{header}' and its second the name. "
                            "Ask headquarters for the file again.")
    name = check_name(lines[1][len("name "):].strip())
    blocks = [m.group(0).encode("ascii") for m in _BLOCK.finditer(lines[2])]
    if len(blocks) != 2:
        raise TransferError(f"{what[0].upper()}{what[1:]} must hold exactly two keys; this one holds "
                            f"{len(blocks)}. Ask headquarters for the file again.")
    return name, blocks


@dataclass(frozen=True)
class HqPublicIdentity:
    """What a field laptop is given: headquarters' name and public keys."""

    name: str
    encryption_key: X25519PublicKey
    signing_key: Ed25519PublicKey

    def key_id(self) -> str:
        """16 hex digits: SHA-256("evidence-vault hq key v1\\n" || name || "\\n" || X25519 || Ed25519)[:8]."""
        material = KEY_ID_PREFIX + self.name.encode("utf-8") + b"\n" + _raw(self.encryption_key) + _raw(
            self.signing_key)
        return hashlib.sha256(material).hexdigest()[:16]

    def to_pem(self) -> bytes:
        head = f"{PUBLIC_HEADER}\nname {check_name(self.name)}\n".encode("ascii")
        return head + _spki(self.encryption_key) + _spki(self.signing_key)

    @classmethod
    def from_pem(cls, data: bytes) -> HqPublicIdentity:
        what = "a headquarters public key file"
        name, blocks = _split(data, PUBLIC_HEADER, what)
        try:
            encryption = serialization.load_pem_public_key(blocks[0])
            signing = serialization.load_pem_public_key(blocks[1])
        except (ValueError, TypeError) as exc:
            raise TransferError(f"A key in {what} is damaged. Ask headquarters for the file again.",
                                debug_detail=str(exc)) from exc
        if not isinstance(encryption, X25519PublicKey) or not isinstance(signing, Ed25519PublicKey):
            raise TransferError(f"The keys in {what} are of the wrong kind (an X25519 key, then an Ed25519 key "
                                "are expected). Ask headquarters for the file again.")
        return cls(name=name, encryption_key=encryption, signing_key=signing)


@dataclass(frozen=True)
class HqIdentity:
    """Headquarters' private side.  Never leaves headquarters."""

    name: str
    encryption_key: X25519PrivateKey
    signing_key: Ed25519PrivateKey

    def public(self) -> HqPublicIdentity:
        return HqPublicIdentity(name=self.name, encryption_key=self.encryption_key.public_key(),
                                signing_key=self.signing_key.public_key())

    def key_id(self) -> str:
        return self.public().key_id()

    def to_encrypted_pem(self, passphrase: str) -> bytes:
        secret = _passphrase_bytes(passphrase)
        encryption = serialization.BestAvailableEncryption(secret)
        blocks = b"".join(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            encryption)
                          for key in (self.encryption_key, self.signing_key))
        return f"{PRIVATE_HEADER}\nname {check_name(self.name)}\n".encode("ascii") + blocks

    @classmethod
    def from_encrypted_pem(cls, data: bytes, passphrase: str) -> HqIdentity:
        what = "a headquarters private key file"
        name, blocks = _split(data, PRIVATE_HEADER, what)
        secret = _passphrase_bytes(passphrase)
        try:
            encryption = serialization.load_pem_private_key(blocks[0], password=secret)
            signing = serialization.load_pem_private_key(blocks[1], password=secret)
        except ValueError as exc:
            raise TransferError("The passphrase for the headquarters key is not correct, or the key file is "
                                "damaged. Check the passphrase and try again.", debug_detail=str(exc)) from exc
        except TypeError as exc:
            raise TransferError("The headquarters key file is not protected by a passphrase, which this "
                                "program never writes. Use the file made by 'hq init'.",
                                debug_detail=str(exc)) from exc
        if not isinstance(encryption, X25519PrivateKey) or not isinstance(signing, Ed25519PrivateKey):
            raise TransferError(f"The keys in {what} are of the wrong kind (an X25519 key, then an Ed25519 key "
                                "are expected).")
        return cls(name=name, encryption_key=encryption, signing_key=signing)


def _passphrase_bytes(passphrase: str) -> bytes:
    if not isinstance(passphrase, str) or not passphrase:
        raise TransferError("A passphrase is needed to protect the headquarters key. Enter one and try again.")
    # NFC: the same passphrase typed on another keyboard layout gives the same bytes.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def generate_hq_identity(name: str) -> HqIdentity:
    return HqIdentity(name=check_name(name), encryption_key=X25519PrivateKey.generate(),
                      signing_key=Ed25519PrivateKey.generate())
