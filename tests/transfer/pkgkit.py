"""Re-sealing a transfer package with a changed manifest or originals, signed with the real field key:
how the tests build packages whose signature holds but whose content lies."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.transfer import container
from app.transfer.identity import HqIdentity
from app.transfer.manifest import TRAILER_MAGIC, signed_message
from app.transfer.package import open_transfer
from app.vault.canonical import canonical_json


def reseal(src: Path, dst: Path, hq: HqIdentity, field_key: Ed25519PrivateKey, *,
           manifest: Callable[[dict[str, Any]], None] | None = None,
           originals: Callable[[list[bytes]], list[bytes]] | None = None) -> Path:
    with open_transfer(src, hq) as package:
        record = json.loads(package.manifest_bytes)
        blobs = [package.open_original(o["sha256"]).read() for o in package.manifest.originals]
        package_id = bytes.fromhex(package.package_id)
    if originals is not None:
        blobs = originals(blobs)
    if manifest is not None:
        manifest(record)
    data = canonical_json(record)
    with open(dst, "wb") as out:
        writer = container.EncryptingWriter(out, hq.encryption_key.public_key(), hq.key_id(), package_id=package_id,
                                            chunk_size=container.MIN_CHUNK)
        for blob in blobs:
            writer.write(blob)
        writer.write(data)
        writer.write(field_key.sign(signed_message(writer.header.pack(), data)))
        writer.write(struct.pack(">Q", len(data)) + TRAILER_MAGIC)
        writer.finish()
    return dst
