"""Key material the exporter prints in a dossier is not searched for protected names.

The appendix prints the vault's public key, the seal certificate and the signed checkpoint so that a
reader can check the dossier with their own tools.  Their base64 is random, and a short alias is
matched case-sensitively as a whole word, also at a digit or camel-case boundary ("An2", "TranVanAn"):
about one seal certificate in five holds such an "An" by chance ("...Uf3AnOoTW1..."), and the last leak
check then refused the export of any vault whose README-style alias was "An" (issue 9).

What is left out is exactly the lines of the PEM blocks, checkpoint root and signatures this dossier carries:
random key material no investigator wrote.  Everything else -- every line of evidence text, wherever it
sits -- is still searched, so a name is found wherever it is evidence text, and template text cannot
defeat the check.
"""

from __future__ import annotations

import re
from typing import Any

# A checkpoint signature is 88 base64 characters; strings this long are left out wherever they sit in a
# line.  PEM lines and the root hash are left out only where they are a whole line of the text.
_MIN_TOKEN = 24
_SIGNATURE_DASH = "\u2014 "  # C2SP signed note: "— <origin> <base64 key hash and signature>"
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def key_material(dossier: Any) -> tuple[set[str], list[str]]:
    """(whole lines, tokens): the base64 lines of the dossier's PEM blocks and its checkpoint's root hash;
    the signatures of its checkpoint."""
    lines: set[str] = set()
    tokens: set[str] = set()
    for pem in (getattr(dossier, "public_key_pem", ""), getattr(dossier, "seal_certificate_pem", "")):
        lines.update(line.strip() for line in str(pem or "").splitlines() if not line.startswith("-----"))
    for line in str(getattr(dossier, "checkpoint_text", "") or "").splitlines():
        if line.startswith(_SIGNATURE_DASH):
            tokens.add(line.rsplit(" ", 1)[-1].strip())
        elif _BASE64.fullmatch(line.strip()):  # the root hash
            lines.add(line.strip())
    lines.discard("")
    return lines, sorted((t for t in tokens if len(t) >= _MIN_TOKEN), key=len, reverse=True)


def without_key_material(text: str, dossier: Any) -> str:
    """``text`` with the dossier's own key material replaced by a space (a word boundary either side)."""
    lines, tokens = key_material(dossier)
    text = "\n".join(" " if line.strip() in lines else line for line in text.split("\n"))
    for token in tokens:
        text = text.replace(token, " ")
    return text
