"""Run one `hq import` in a child process, announcing each stored chunk, so a test can kill -9 it
mid-transaction.  Usage: python -m tests.hq.import_worker HQ_DIR CONNINFO PACKAGE"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.hq.archive import import_package
from app.hq.headquarters import Headquarters
from tests.conftest import TEST_PASSPHRASE


def main() -> None:
    folder, conninfo, package = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])

    def progress(done: int, total: int, message: str) -> None:
        if message == "storing originals":
            print(f"stored {done}", flush=True)
            time.sleep(0.2)  # leave the parent time to kill us between chunks
        elif message == "already stored":
            print(f"already {done}", flush=True)

    with Headquarters.open(folder, TEST_PASSPHRASE, conninfo=conninfo) as hq:
        result = import_package(hq, package, actor="worker", progress=progress)
    print(f"committed resumed={result.resumed_originals} bytes_stored={result.bytes_stored}", flush=True)


if __name__ == "__main__":
    main()
