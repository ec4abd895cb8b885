"""Errors for code, messages for humans.

Every error the app raises on purpose derives from :class:`EvidenceVaultError`.  Its
``user_message()`` is one or two plain sentences a non-programmer understands and that say
what to do next; it never contains evidence content, real names or file contents.  The
command line prints it (no traceback unless ``--debug``), the GUI shows it in a dialog.
"""

from __future__ import annotations


class EvidenceVaultError(Exception):
    """Base class.  ``message`` is shown to people; keep details for ``debug_detail``."""

    exit_code = 2
    default_message = "Something went wrong. Please try again, and report the problem if it persists."

    def __init__(self, message: str | None = None, *, debug_detail: str = "") -> None:
        self.message = message or self.default_message
        self.debug_detail = debug_detail
        super().__init__(self.message)

    def user_message(self) -> str:
        return self.message


class WrongPassphrase(EvidenceVaultError):
    default_message = "The passphrase is not correct for this vault. Check it and try again."


class WeakPassphrase(EvidenceVaultError):
    default_message = "This passphrase is too weak. Use a longer passphrase of several unrelated words."


class VaultInUse(EvidenceVaultError):
    default_message = (
        "This vault is already open in another window or program. Close it there first, then try again."
    )


class VaultNotFound(EvidenceVaultError):
    default_message = "No vault was found at that location. Check the path, or create a new vault with 'init'."


class VaultExists(EvidenceVaultError):
    default_message = "A vault already exists at that location. Choose another path or open the existing vault."


class NotAVault(EvidenceVaultError):
    default_message = "This file is not an Evidence Vault, or it is damaged beyond opening."


class IntegrityError(EvidenceVaultError):
    """Raised when stored evidence or the custody chain does not check out."""

    exit_code = 1
    default_message = "The vault failed its integrity check. Do not modify it; contact your security lead."


class ProofError(IntegrityError):
    default_message = "A Merkle proof or signature did not verify."


class MediaError(EvidenceVaultError):
    default_message = "This file could not be read as a photo, video or audio recording."


class CorruptMedia(MediaError):
    default_message = "This file is damaged or truncated and cannot be decoded."


class UnsupportedMedia(MediaError):
    default_message = "This kind of file is not supported for this operation."


class MediaTooLarge(MediaError):
    default_message = (
        "This image is far larger than any real photo (possibly a decompression bomb) and was refused."
    )


class DiskFull(EvidenceVaultError):
    default_message = (
        "The disk is full. Nothing was lost; free some space and try again."
    )


class Cancelled(EvidenceVaultError):
    default_message = "The operation was cancelled. Nothing was changed."


class ConsentError(EvidenceVaultError):
    default_message = "Consent does not allow this export."


class BundleError(IntegrityError):
    default_message = "This bundle is damaged, altered or unsafe to open."


class NotFound(EvidenceVaultError):
    default_message = "No record with that id exists in this vault."


class InvalidInput(EvidenceVaultError):
    default_message = "The input is not valid."
