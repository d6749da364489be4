"""A prefilter over a hash set's digests, asked before the database: "certainly not in the set" or "maybe".

The content pass looks every stream's MD5, SHA-1 and SHA-256 up in the known-hash sets. On a set of tens of
millions of entries most streams are not in it, and each "no" from the database is a round trip (a few
hundred microseconds on PostgreSQL). A Bloom filter answers most of those "no"s from memory: it never says
"no" for a digest the set holds (no false negatives), and says "maybe" for about one absent digest in a
hundred; every "maybe" is looked up in the database, which alone says what matched and how. Results are the
same with and without the filter; only the number of queries changes.

Layout: a *blocked* Bloom filter (Putze, Sanders, Singler, "Cache-, Hash-, and Space-Efficient Bloom
Filters", 2007): one 64-bit word per digest, K bits set inside it, so a check is one memory read.
Cryptographic digests are uniform already, so the digest's own bytes place it (bytes 0-7 pick the word,
bytes 8-15 the K bit positions); nothing is hashed again. The word count is a power of two, so a filter
sized for an estimate can be folded in half (OR of the halves) until it is as small as its contents allow.

File: a 64-byte header (magic, format version, K, words, digests added, hash-set id), then the words,
little-endian. Workers map it read-only (the pages are shared between processes); the database row of the
set keeps the file's SHA-256, checked when a worker loads it, so a damaged or swapped file is never trusted.
"""
from __future__ import annotations

import hashlib
import mmap
import os
import struct
from collections.abc import Iterable
from pathlib import Path

MAGIC = b"FXDGSTF1"
VERSION = 1
K = 7                     # bits set per digest inside its word
START_BITS = 16           # bits per expected digest when the filter is created (an estimate, folded later)
MIN_BITS = 10             # fold while at least this many bits per digest remain (~2 % false "maybe")
HEADER = struct.Struct("<8sIIQQQ24s")   # magic, version, K, words, digests, hashset id, padding
assert HEADER.size == 64


class DigestFilterError(ValueError):
    """A filter file that is missing, damaged or not the one its hash set recorded."""


def _mask(b: int) -> int:
    """The K bits of one digest (``_placed`` computes the same for many at once)."""
    mask = 0
    for i in range(K):
        mask |= 1 << ((b >> (6 * i)) & 63)
    return mask


class FilterBuilder:
    """Collects a set's digests (hex, any of MD5/SHA-1/SHA-256) while the importer streams its rows."""

    def __init__(self, expected_digests: int) -> None:
        import numpy as np

        words = 1
        while words * 64 < max(expected_digests, 1) * START_BITS:
            words *= 2
        self._np = np
        self.words = np.zeros(words, dtype="<u8")
        self.digests = 0

    def add_hex(self, values: Iterable[str | None]) -> None:
        """Adds hex digests (``None`` and values that are not hex digests are left out: they can never
        equal a stream's digest, so the database would not find them either)."""
        np = self._np
        values = values if isinstance(values, list) else list(values)
        lengths = set(map(len, values)) if None not in values else None
        if lengths is not None and len(lengths) == 1 and lengths <= {32, 40, 64}:
            by_length = {lengths.pop(): values}         # a column of one algorithm (the bulk loads' blocks)
        else:
            by_length = {}
            for value in values:
                if value and len(value) in (32, 40, 64):
                    by_length.setdefault(len(value), []).append(value)
        for length, group in by_length.items():
            try:
                raw = bytes.fromhex("".join(group))
            except ValueError:               # one bad value: keep the good ones
                raw = b"".join(_unhex(v) for v in group)
            count = len(raw) * 2 // length
            if not count:
                continue
            a, mask = _placed(np, raw, count, length // 2)
            np.bitwise_or.at(self.words, a & np.uint64(len(self.words) - 1), mask)
            self.digests += count

    def fold(self) -> None:
        """Halves the filter while it keeps MIN_BITS per digest (an estimate may have been generous)."""
        while len(self.words) > 1 and (len(self.words) // 2) * 64 >= max(self.digests, 1) * MIN_BITS:
            half = len(self.words) // 2
            self.words = self.words[:half] | self.words[half:]

    def save(self, path: str | Path, hashset_id: int) -> str:
        """Writes the filter (folded) beside the case database's files; returns the file's SHA-256."""
        self.fold()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = HEADER.pack(MAGIC, VERSION, K, len(self.words), self.digests, hashset_id, b"")
        body = self.words.tobytes()
        tmp = path.with_name(path.name + ".part")
        with open(tmp, "wb") as out:
            out.write(header)
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
        return hashlib.sha256(header + body).hexdigest()


def _placed(np, raw: bytes, count: int, width: int):
    """Word selectors and bit masks of ``count`` digests of ``width`` bytes each, packed in ``raw``."""
    pairs = np.ascontiguousarray(np.frombuffer(raw, dtype=np.uint8).reshape(count, width)[:, :16]).view("<u8")
    a, b = pairs[:, 0], pairs[:, 1]
    mask = np.zeros(count, dtype="<u8")
    for i in range(K):
        mask |= np.left_shift(np.uint64(1), (b >> np.uint64(6 * i)) & np.uint64(63))
    return a, mask


def _unhex(value: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        return b""


class DigestFilter:
    """A saved filter, mapped read-only. ``maybe(hex)``: False means the set does not hold the digest."""

    def __init__(self, path: str | Path, hashset_id: int, sha256: str) -> None:
        try:
            with open(path, "rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise DigestFilterError(f"{path}: cannot open the hash set's filter: {exc}") from exc
        if len(self._map) < HEADER.size:
            raise DigestFilterError(f"{path}: not a digest filter (too short)")
        magic, version, k, words, self.digests, owner, _ = HEADER.unpack_from(self._map, 0)
        if magic != MAGIC or version != VERSION or k != K:
            raise DigestFilterError(f"{path}: not a digest filter of this version")
        if owner != hashset_id or len(self._map) != HEADER.size + 8 * words or words & (words - 1):
            raise DigestFilterError(f"{path}: the filter belongs to hash set {owner}, not {hashset_id}, "
                                    "or is cut short")
        if hashlib.sha256(self._map).hexdigest() != sha256:
            raise DigestFilterError(f"{path}: the filter's SHA-256 is not the one recorded for its hash set "
                                    "(changed or damaged since the import)")
        self._last = words - 1
        self.words = words
        self._array = None

    def maybe_many(self, hexdigests: list[str]) -> list[bool]:
        """``maybe`` for many digests of one algorithm at once (vectorised: ~0.1 us each)."""
        import numpy as np

        if not hexdigests:
            return []
        if self._array is None:
            self._array = np.frombuffer(self._map, dtype="<u8", offset=HEADER.size)
        width = len(hexdigests[0]) // 2
        try:
            raw = bytes.fromhex("".join(hexdigests))
        except ValueError:
            raw = b""
        if len(raw) != width * len(hexdigests) or width < 16:
            return [self.maybe(h) for h in hexdigests]
        a, mask = _placed(np, raw, len(hexdigests), width)
        return ((self._array[a & np.uint64(self._last)] & mask) == mask).tolist()

    def maybe(self, hexdigest: str) -> bool:
        digest = bytes.fromhex(hexdigest)
        a = int.from_bytes(digest[:8], "little")
        mask = _mask(int.from_bytes(digest[8:16], "little"))
        (word,) = struct.unpack_from("<Q", self._map, HEADER.size + 8 * (a & self._last))
        return word & mask == mask

    def close(self) -> None:
        self._array = None
        self._map.close()
