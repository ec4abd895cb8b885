"""RFC 3161 timestamps for the dossier seal (PAdES B-T) through a timestamp authority *command*.

The app never opens a network connection (tests/test_offline.py).  A timestamp authority is therefore
reached through a command the user configures: the command reads one DER TimeStampReq on standard
input and writes the DER TimeStampResp on standard output.  It can be a local TSA (``openssl ts -reply``
with the organisation's TSA key, a hardware token's tool), or, on a connected machine and by the user's
explicit choice, a client such as ``curl -s -H "Content-Type: application/timestamp-query"
--data-binary @- https://tsa.example/`` -- then it is that program, not the app, that goes online.

The command is run without a shell, with a time limit, and its answer is checked (status, nonce,
message imprint) by pyHanko before it goes into the signature.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

from asn1crypto import tsp  # type: ignore[import-untyped]
from pyhanko.sign.timestamps.api import TimeStamper

from app.errors import InvalidInput

MAX_RESPONSE_BYTES = 1 << 20
TIME_LIMIT_SECONDS = 60.0


class TimestampFailed(InvalidInput):
    """The timestamp authority command failed or answered with something that is not a timestamp."""


class CommandTimeStamper(TimeStamper):
    """A pyHanko TimeStamper that asks a configured command (argv, no shell) for each timestamp."""

    def __init__(self, argv: Sequence[str], *, time_limit: float = TIME_LIMIT_SECONDS) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        if not argv or not all(isinstance(a, str) and a for a in argv):
            raise InvalidInput("Give the timestamp authority command, for example: openssl ts -reply ...")
        self.argv = list(argv)
        self.time_limit = time_limit

    @classmethod
    def from_command_line(cls, command: str) -> CommandTimeStamper:
        try:
            return cls(shlex.split(command))
        except ValueError as exc:
            raise InvalidInput("The timestamp authority command could not be read (check its quotes).") from exc

    def _run(self, request: bytes) -> bytes:
        try:
            done = subprocess.run(self.argv, input=request, capture_output=True, timeout=self.time_limit,
                                  check=False)
        except FileNotFoundError as exc:
            raise TimestampFailed(f"The timestamp authority command '{self.argv[0]}' was not found. Check the "
                                  "command, or export without a timestamp.") from exc
        except subprocess.TimeoutExpired as exc:
            raise TimestampFailed(f"The timestamp authority did not answer within {self.time_limit:.0f} seconds. "
                                  "Nothing was written; try again, or export without a timestamp.") from exc
        if done.returncode != 0 or not done.stdout:
            raise TimestampFailed("The timestamp authority command failed. Nothing was written; check the command "
                                  "or export without a timestamp.",
                                  debug_detail=done.stderr[-2000:].decode("utf-8", "replace"))
        if len(done.stdout) > MAX_RESPONSE_BYTES:
            raise TimestampFailed("The timestamp authority's answer is far too large to be a timestamp.")
        return bytes(done.stdout)

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # Run in place: the seal is made one signature at a time, nothing else waits on this loop.
        data = self._run(req.dump())
        try:
            response = tsp.TimeStampResp.load(data)
            response.native  # noqa: B018  (parse it all now: a broken answer fails here, not in the signature)
        except (ValueError, TypeError) as exc:
            raise TimestampFailed("The timestamp authority's answer is not an RFC 3161 timestamp response.") from exc
        return response
