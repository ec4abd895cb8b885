"""Bundle write / verify throughput against a plain copy-and-hash baseline measured in the same run.

    .venv/bin/python benchmarks/bundle_bench.py [MiB]     (default 256)

Synthetic data only (a repeated random block); everything is written to a temporary folder and removed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.export.bundle import BundleFile, write_bundle
from app.export.bundle_verify import verify_bundle
from tests.export.test_bundle_support import bundle_files, seal_cert_pem, standard_log


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    block = os.urandom(1 << 20)
    with tempfile.TemporaryDirectory(dir=Path.home()) as scratch:
        folder = Path(scratch)
        source = folder / "exhibit.bin"
        with open(source, "wb") as out:
            for _ in range(mib):
                out.write(block)

        def copy_and_hash() -> None:
            digest = hashlib.sha256()
            with open(source, "rb") as src, open(folder / "copy.bin", "wb") as dst:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())

        def read_and_hash() -> None:
            digest = hashlib.sha256()
            with open(source, "rb") as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)

        log = standard_log()
        included = [e for e in log.events if e.seq == 0 or e.item_id in (1, 3)]
        video = BundleFile("exhibits/video.bin", functools.partial(source.open, "rb"), None, "attachment")
        files = [*bundle_files(), video]
        checkpoint = log.checkpoint()

        def write(as_zip: bool) -> Path:
            out = folder / ("b.zip" if as_zip else "b")
            write_bundle(out=out, as_zip=as_zip, files=files, events=included, leaf_hashes=log.leaves,
                         checkpoint_text=checkpoint, signing_key=log.key, seal_cert_pem=seal_cert_pem(),
                         audience="court", level="redacted")
            return out

        results = {"baseline copy+sha256+fsync": _timed(copy_and_hash),
                   "baseline read+sha256": _timed(read_and_hash)}
        results["write_bundle zip"] = _timed(lambda: write(True))
        results["write_bundle folder"] = _timed(lambda: write(False))
        results["verify_bundle zip"] = _timed(lambda: verify_bundle(folder / "b.zip"))
        results["verify_bundle folder"] = _timed(lambda: verify_bundle(folder / "b"))
        shutil.rmtree(folder / "b")
    print(f"{mib} MiB exhibit")
    for name, seconds in results.items():
        base = results["baseline copy+sha256+fsync" if name.startswith(("write", "baseline copy"))
                       else "baseline read+sha256"]
        print(f"{name:28s} {seconds:6.2f} s  {mib / seconds:7.0f} MiB/s  ratio vs baseline {seconds / base:4.2f}")


if __name__ == "__main__":
    main()
