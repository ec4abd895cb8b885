"""Errors of field-to-headquarters transfers (tracker #12)."""

from __future__ import annotations

from app.errors import EvidenceVaultError, IntegrityError


class TransferError(EvidenceVaultError):
    """A transfer package, receipt, key file or cosignature is wrong; the message says what to do."""

    default_message = ("This transfer package or receipt is damaged or not meant for this place. Ask the sender "
                       "for a new copy.")


class ForkError(IntegrityError, TransferError):
    """Two checkpoints of one field vault that are not consistent: someone rewrote its history."""

    default_message = ("A fork was detected: this field vault's log is not an extension of the log seen before, "
                       "so its history was rewritten. Keep both copies and contact your security lead.")
