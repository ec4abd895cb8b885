"""Keep decrypted evidence and keys out of core dumps (tracker #14).

A crash while redacting wrote a 364 MB core file holding a protected witness's name: a core dump is
a plaintext copy of the process memory (decrypted chunks, the vault key, names) left on disk.
:func:`harden_process` is called first thing by the entry point, before any vault is opened.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4  # <linux/prctl.h>
PR_GET_DUMPABLE = 3


def harden_process() -> None:
    """No core dumps, and no ptrace or /proc/<pid>/mem access by other processes of the same user.

    On Linux: RLIMIT_CORE soft and hard limits 0 (a crash writes no core file, and the process cannot
    raise them again), and ``prctl(PR_SET_DUMPABLE, 0)`` (also covers a ``core_pattern`` that pipes
    to a handler such as systemd-coredump, which ignores RLIMIT_CORE).  Elsewhere: nothing, logged."""
    if not sys.platform.startswith("linux"):
        log.info("core dump protection is only implemented on Linux; on %s it is left to the system", sys.platform)
        return
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError) as error:  # cannot happen when lowering, but never stop the program
        log.warning("could not disable core files: %r", error)
    if _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("could not mark the process non-dumpable: errno %d", ctypes.get_errno())


def is_dumpable() -> bool:
    """The kernel's dumpable flag of this process (Linux); True elsewhere, where it is not managed."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(_libc().prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
