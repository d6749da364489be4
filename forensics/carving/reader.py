"""Random-access byte readers the carver reads through, with bounded request sizes.

The scanner never asks for more than its window at once, and validators ask for small
pieces; so the memory carving needs depends on the window, not on the image.
"""
from __future__ import annotations

import os
import time
from typing import Protocol

from dfvfs.lib import definitions
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.resolver import resolver

from forensics.locator import from_locator

MAX_SMALL_READ = 1 << 20
"""Largest request a validator makes at once (its own chunked loops stay under this)."""


class ByteReader(Protocol):
    """Reads up to ``size`` bytes at ``offset`` (fewer at the end of the stream)."""

    def read_at(self, offset: int, size: int) -> bytes: ...

    @property
    def size(self) -> int: ...


class ReadError(Exception):
    """The stream could not be read at some offset (a bad sector, a missing segment)."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(f"read failed at stream offset {offset}: {message}")
        self.offset = offset


class BudgetExceeded(Exception):
    """A validator ran past the scanner's time budget."""


class FileObjectReader:
    """Reads through a dfvfs file object (any container dfvfs opens: EWF, QCOW, BDE...)."""

    def __init__(self, file_object) -> None:
        self._file = file_object
        self._size = int(file_object.get_size())

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self._size or size <= 0:
            return b""
        try:
            self._file.seek(offset, os.SEEK_SET)
            return self._file.read(min(size, self._size - offset))
        except (OSError, IOError, RuntimeError, dfvfs_errors.Error) as exc:
            raise ReadError(offset, str(exc)) from exc


class PreadReader:
    """A plain image file read with ``os.pread`` (the fast path for single-file raw images)."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self._size or size <= 0:
            return b""
        try:
            return os.pread(self._fd, min(size, self._size - offset), offset)
        except OSError as exc:
            raise ReadError(offset, str(exc)) from exc

    def close(self) -> None:
        os.close(self._fd)


def open_reader(locator: str) -> ByteReader:
    """A reader for the bytes a locator names; a raw single-file image is read directly."""
    spec = from_locator(locator)
    parent = spec.parent
    if (spec.type_indicator == definitions.TYPE_INDICATOR_RAW and parent is not None
            and parent.type_indicator == definitions.TYPE_INDICATOR_OS and parent.parent is None):
        path = parent.location
        # split raw (name.000, name.001 ...) goes through dfvfs, which joins the segments
        if not path.rsplit(".", 1)[-1].isdigit():
            return PreadReader(path)
    if spec.type_indicator == definitions.TYPE_INDICATOR_OS:
        return PreadReader(spec.location)
    return FileObjectReader(resolver.Resolver.OpenFileObject(spec))


def close_reader(reader: ByteReader) -> None:
    """Releases what ``open_reader`` opened (dfvfs file objects are left to dfvfs's cache)."""
    close = getattr(reader, "close", None)
    if close is not None:
        close()


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


class BytesReader:
    """An in-memory stream (tests, and carving a file already read)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @property
    def size(self) -> int:
        return len(self._data)

    def read_at(self, offset: int, size: int) -> bytes:
        return self._data[offset:offset + size] if size > 0 else b""
