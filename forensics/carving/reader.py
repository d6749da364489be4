"""The carver's window onto a stream (the readers themselves are ``forensics.reader``'s).

The scanner never asks for more than its window at once, and validators ask for small
pieces; so the memory carving needs depends on the window, not on the image.
"""
from __future__ import annotations

import time

from forensics.reader import ByteReader

MAX_SMALL_READ = 1 << 20
"""Largest request a validator makes at once (its own chunked loops stay under this)."""


class BudgetExceeded(Exception):
    """A validator ran past the scanner's time budget."""


class WindowReader:
    """What validators read through: the scanner's current window when the bytes are in
    it (no copy, no syscall), otherwise the stream, one cached chunk at a time.

    Reads past ``limit`` come back short, so a validator cannot wander beyond its
    range; a deadline turns a runaway validation into :class:`BudgetExceeded`.
    """

    CHUNK = 256 * 1024

    def __init__(self, base: ByteReader, limit: int) -> None:
        self._base = base
        self.limit = min(limit, base.size)
        self._window = b""
        self._window_start = 0
        self._chunk = b""
        self._chunk_start = -1
        self.deadline = float("inf")

    def set_window(self, start: int, data: bytes) -> None:
        self._window, self._window_start = data, start

    def read_at(self, offset: int, size: int) -> bytes:
        if size > MAX_SMALL_READ:
            raise ValueError(f"validator asked for {size} bytes at once (max {MAX_SMALL_READ})")
        end = min(offset + size, self.limit)
        if end <= offset:
            return b""
        rel = offset - self._window_start
        if rel >= 0 and end - self._window_start <= len(self._window):
            return self._window[rel:end - self._window_start]
        if time.monotonic() > self.deadline:
            raise BudgetExceeded()
        rel = offset - self._chunk_start
        if self._chunk_start >= 0 and rel >= 0 and end - self._chunk_start <= len(self._chunk):
            return self._chunk[rel:end - self._chunk_start]
        if end - offset > self.CHUNK:
            return self._base.read_at(offset, end - offset)
        self._chunk_start = offset
        self._chunk = self._base.read_at(offset, min(self.CHUNK, self.limit - offset))
        return self._chunk[:end - offset]

    @property
    def size(self) -> int:
        return self.limit

