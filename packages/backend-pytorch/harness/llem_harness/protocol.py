"""The llem workload protocol (packages/core/src/protocol/events.ts): `@@llem {json}` lines on stdout.

The harness keeps the real stdout for protocol lines only and points file descriptor 1 at stderr,
so a stray print() in a library, or C code writing to fd 1, can never corrupt the protocol.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import IO, Any

PREFIX = "@@llem "
VERSION = 1


class ProtocolWriter:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.events: list[str] = []

    def emit(self, event: str, t_mono_ns: int | None = None, **fields: Any) -> int:
        """Writes one event line and flushes it; returns the monotonic ns it carries."""
        t = time.monotonic_ns() if t_mono_ns is None else t_mono_ns
        payload = {"v": VERSION, "t_mono_ns": str(t), "event": event, **fields}
        self._stream.write(PREFIX + json.dumps(payload, separators=(",", ":")) + "\n")
        self._stream.flush()
        self.events.append(event)
        return t


def take_over_stdout() -> ProtocolWriter:
    """Duplicates fd 1 for the protocol, then sends everything else written to fd 1 to stderr."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    return ProtocolWriter(os.fdopen(protocol_fd, "w", buffering=1))
