"""A container's bytes as a seekable file object, and copies of members into the case store."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable

from forensics.carving.sink import DirectorySink
from forensics.locator import os_path_spec, to_locator
from forensics.reader import ByteReader, close_reader, open_reader


class LocatorFile(io.RawIOBase):
    """Random access to the bytes a locator names (for zipfile, tarfile, libarchive, pikepdf, olefile)."""

    def __init__(self, locator: str) -> None:
        self._reader: ByteReader = open_reader(locator)
        self._position = 0

    @property
    def size(self) -> int:
        return self._reader.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._reader.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        data = self._reader.read_at(self._position, len(buffer))
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            close_reader(self._reader)
        super().close()


def buffered(locator: str) -> io.BufferedReader:
    return io.BufferedReader(LocatorFile(locator), buffer_size=1 << 20)


class TooLarge(Exception):
    """A member grew past its byte limit while being copied."""


def store(sink: DirectorySink, chunks: Iterable[bytes], limit: int) -> tuple[str, int]:
    """Copies a member into the store (content-addressed): (locator of the copy, size). Raises
    TooLarge (nothing kept) when it passes ``limit`` bytes."""
    writer = sink.open()
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise TooLarge(size)
            digest.update(chunk)
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return to_locator(os_path_spec(writer.commit(digest.hexdigest()))), size
