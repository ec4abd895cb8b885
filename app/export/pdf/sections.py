"""The fixed wording of the dossier (labels, notes, verification instructions)."""

from __future__ import annotations

from app.export.dossier_model import Dossier

AUDIENCE_LABELS = {
    "court": "A court (original evidence, may be filed under seal)",
    "un": "A United Nations mechanism",
    "ngo": "A partner organisation",
    "media": "The media (public)",
}
LEVEL_LABELS = {
    "original": "Original: names and faces are shown as recorded",
    "redacted": "Redacted: faces covered, protected people replaced by pseudonyms",
}

SEAL_NOTE = (
    "This PDF is sealed with an electronic signature (PAdES) by the organisation's seal certificate. "
    "Any change to the file after sealing is reported by PDF readers and by the steps in the "
    "verification appendix."
)


def timestamp(seconds: float) -> str:
    """Seconds as H:MM:SS.s for transcripts and key frames."""
    seconds = max(0.0, float(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:04.1f}"


def cover_note(d: Dossier) -> str:
    return (
        "Every page carries an evidence registration number (ERN) and its page number. The full text "
        "of this dossier is attached inside the PDF as dossier-text.txt (UTF-8) so that it can be "
        "searched and checked by machine; the pages and the attachment say the same. "
        + ("Exhibits are shown redacted and named by exhibit number. Each shows the SHA-256 of its "
           "redacted version and, instead of the original's hash, a keyed commitment that a court "
           "holding the vault can check; capture times are in UTC or given as dates only."
           if d.level == "redacted" else "Exhibits are shown as recorded.")
    )


def verification_steps(d: Dossier) -> list[tuple[str, str]]:
    return [
        ("0. All at once, with only this PDF",
         "Run 'evidence-vault verify-pdf dossier.pdf' (the free Evidence Vault program; no vault and no "
         "passphrase needed). It checks the seal, the checkpoint signature, every inclusion proof below and "
         "the hashes of any original files attached, using the files attached inside this PDF: "
         "seal-certificate.pem and dossier-proofs.json. Each step can also be done by hand as follows."),
        ("1. The seal of this PDF",
         "Open the PDF in a reader that checks signatures (e.g. Adobe Acrobat Reader) or save the attached "
         "seal certificate ('pdfdetach -saveall dossier.pdf' or the reader's attachments panel; it is also "
         "printed below) and run 'pyhanko sign validate --trust seal-certificate.pem dossier.pdf'. The "
         "signature covers the whole file, attachments included; a change after sealing shows as an "
         "invalid or modified signature. Compare the certificate's fingerprint with the one the "
         "organisation published."),
        ("2. The custody log checkpoint",
         f"The cover shows the signed checkpoint this dossier was made from: a custody log of "
         f"{d.tree_size} events whose Merkle root (RFC 9162, SHA-256) is {d.merkle_root}. Check the "
         "checkpoint's Ed25519 signature with the vault's public key (printed below), and compare the "
         "root with checkpoints you received earlier (a consistency proof shows the log only grew)."),
        ("3. Each exhibit's inclusion proofs",
         "For every custody event listed under an exhibit, the leaf hash is SHA-256(0x00 || event), "
         "where the event is its canonical JSON (RFC 8785). Starting from the leaf hash at its index, "
         "combine it with each sibling hash in order as SHA-256(0x01 || left || right), as RFC 9162 "
         "section 2.1.3.2 describes; the result must equal the Merkle root above."),
        ("4. The exhibit files",
         "Each exhibit's SHA-256 is printed on its page and in the table below. Hash a copy of the file "
         "with 'sha256sum FILE' or 'openssl dgst -sha256 FILE' and compare with the printed value. A "
         "sealed bundle lists the same hashes in its manifest; check it as its README describes."),
        ("5. The embedded text",
         "The attachment dossier-text.txt holds the text of every page. Extract it with any PDF "
         "reader's attachments panel or 'pdfdetach -saveall dossier.pdf'."),
    ]


def text_header(d: Dossier, pages: int) -> str:
    return (
        f"EVIDENCE DOSSIER (plain text copy)\n"
        f"ERN range: {d.ern_prefix}-000001 to {d.ern_prefix}-{pages:06d} ({pages} pages)\n"
        f"Manifest SHA-256: {d.manifest_sha256}\n\n"
    )
