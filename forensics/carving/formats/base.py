"""What every carver provides, and small helpers for walking structures forward."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Protocol

from forensics.carving.reader import MAX_SMALL_READ

MIB = 1 << 20


class Reader(Protocol):
    limit: int

    def read_at(self, offset: int, size: int) -> bytes: ...


@dataclass(frozen=True)
class Extent:
    """A validator's verdict on a header: how long the object is and whether it is whole."""

    length: int
    status: str = "complete"      # complete | partial
    format: str = ""              # refined family ("docx"); "" = the carver's own
    extension: str = ""           # "" = the carver's first extension
    note: str = ""


class Carver:
    """A file format's header signatures and its structure validator.

    ``validate`` returns None when the bytes at ``offset`` are not an object of this
    format, else the object's extent; it reads only through ``reader`` and never past
    ``limit`` (an absolute stream offset: the range's end or the carver's maximum size).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    signatures: ClassVar[tuple[bytes, ...]] = ()   # literal headers, found with bytes.find
    pattern: ClassVar[bytes | None] = None         # a regex instead, for short/ambiguous headers
    max_size: ClassVar[int] = 256 * MIB
    contains: ClassVar[frozenset[str]] = frozenset()  # inner structures that are not files

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<carver {self.name} {self.version}>"


def truncated(length: int, note: str, **kwargs: str) -> Extent:
    return Extent(length=length, status="partial", note=note, **kwargs)


class Cursor:
    """Sequential reads through a reader with a small buffer (for byte-wise formats)."""

    BUF = 64 * 1024

    def __init__(self, reader: Reader, pos: int, limit: int) -> None:
        self.reader, self.pos, self.limit = reader, pos, limit
        self._buf, self._start = b"", pos

    def _fill(self, need: int) -> bool:
        rel = self.pos - self._start
        if 0 <= rel and rel + need <= len(self._buf):
            return True
        size = max(need, self.BUF)
        self._buf = self.reader.read_at(self.pos, min(size, max(self.limit - self.pos, 0)))
        self._start = self.pos
        return len(self._buf) >= need

    def take(self, n: int) -> bytes | None:
        """The next n bytes (None when fewer remain before the limit)."""
        if n > MAX_SMALL_READ:
            raise ValueError("Cursor.take is for small fields")
        if not self._fill(n):
            return None
        rel = self.pos - self._start
        self.pos += n
        return self._buf[rel:rel + n]

    def u8(self) -> int | None:
        data = self.take(1)
        return None if data is None else data[0]

    def skip(self, n: int) -> bool:
        self.pos += n
        return self.pos <= self.limit


def find_forward(reader: Reader, needle: bytes | re.Pattern[bytes], start: int, end: int,
                 chunk: int = MIB) -> tuple[int, bytes] | None:
    """(absolute offset, matched bytes) of the first match in [start, end), read in chunks."""
    pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
    overlap = 64
    pos = start
    while pos < end:
        data = reader.read_at(pos, min(chunk, end - pos))
        if not data:
            return None
        match = pattern.search(data)
        if match:
            return pos + match.start(), match.group(0)
        if pos + len(data) >= end or len(data) < min(chunk, end - pos):
            return None
        pos += max(len(data) - overlap, 1)
    return None
