"""What a lone sealed PDF carries so that an auditor can check it with nothing else (issue 15).

Two files are attached inside the PDF (PDF/A-3 associated files, relationship Supplement) before it is
sealed, so the seal covers them:

- ``seal-certificate.pem``: the X.509 certificate of the seal (also printed in the verification appendix);
- ``dossier-proofs.json``: RFC 8785 JSON with the signed checkpoint, the vault's public key, and for
  every exhibit its hashes (or commitment) and the RFC 9162 inclusion proofs of its custody events,
  exactly as printed on the exhibit's pages.  It holds only hashes and the checkpoint shown on the
  cover, so it says nothing the pages do not.

``evidence-vault verify-pdf FILE`` (:mod:`app.export.pdf.verify_pdf`) reads both back.
"""

from __future__ import annotations

from app.export.dossier_model import Dossier
from app.vault.canonical import canonical_json

PROOFS_ATTACHMENT_NAME = "dossier-proofs.json"
CERT_ATTACHMENT_NAME = "seal-certificate.pem"
PROOFS_FORMAT = "evidence-vault-dossier-proofs"
PROOFS_VERSION = 1


def proofs_json(dossier: Dossier) -> bytes:
    """The machine-readable copy of the cover's checkpoint and every exhibit's hashes and proofs."""
    return canonical_json({
        "format": PROOFS_FORMAT,
        "format_version": PROOFS_VERSION,
        "audience": dossier.audience,
        "level": dossier.level,
        "ern_prefix": dossier.ern_prefix,
        "manifest_sha256": dossier.manifest_sha256,
        "checkpoint": dossier.checkpoint_text.strip() + "\n",
        "public_key_pem": dossier.public_key_pem.strip() + "\n",
        "tree_size": dossier.tree_size,
        "merkle_root": dossier.merkle_root,
        "exhibits": [{
            "number": e.number,
            "sha256": e.sha256_original,
            "original_commitment": e.original_commitment,
            "derivative_sha256": e.sha256_derivative,
            "attachment": e.attachment.name if e.attachment is not None else None,
            "proofs": [{"leaf_index": p.event_seq, "leaf_hash": p.leaf_hash, "proof": list(p.proof)}
                       for p in e.proofs],
        } for e in dossier.exhibits],
    })
