"""Digesting a data stream (MD5, SHA-1, SHA-256 and its type) in a single read."""
from __future__ import annotations

import hashlib
import posixpath

from forensics.filetype import TypeIdentifier, extension_mismatch
from forensics.models import ContentDigest
from forensics.reader import StreamReader

CHUNK = 1024 * 1024
MAGIC_BYTES = 256 * 1024


class Digester:
    """MD5, SHA-1, SHA-256 and libmagic type of a stream, in one read."""

    def __init__(self, reader: StreamReader | None = None) -> None:
        self.reader = reader or StreamReader()
        self.types = TypeIdentifier()

    def digest(self, locator: str, path: str) -> ContentDigest:
        md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
        head = bytearray()
        size = 0
        for data in self.reader.chunks(locator):
            md5.update(data)
            sha1.update(data)
            sha256.update(data)
            if len(head) < MAGIC_BYTES:
                head += data[: MAGIC_BYTES - len(head)]
            size += len(data)
        sha256_hex = sha256.hexdigest()
        mime, description = self.types.identify_digest(sha256_hex, lambda: bytes(head))
        return ContentDigest(size=size, md5=md5.hexdigest(), sha1=sha1.hexdigest(), sha256=sha256_hex,
                             mime_type=mime, description=description,
                             extension_mismatch=extension_mismatch(posixpath.basename(path), mime))
