"""Exact Hamming-radius search over millions of 256-bit PDQ hashes: multi-index hashing.

Algorithm (Norouzi, Punjani & Fleet, "Fast search in Hamming space with multi-index
hashing", CVPR 2012): the 256 bits are cut into ``m`` disjoint substrings. If two hashes
differ in at most ``r`` bits, some substring differs in at most ``r // m`` bits
(pigeonhole). So for each substring we look up every value within ``r // m`` bits of the
query's, collect the references stored under them, and compute the full distance of only
those candidates. The result is exact — the same set a linear scan finds — for any radius.
Layouts (``default_chunks``): 16 substrings of 16 bits below 200,000 references (radius 31:
1 bit per substring, 17 probes each); 11 of 23-24 bits from there on (2 bits, 301 probes).

Storage is numpy only, no Python object per entry: the hashes (N x 32 bytes), the ids
(int64), and per substring a permutation of the rows sorted by substring value (uint32)
plus either a direct offsets table (when ``2**bits <= 64 N``: at most 256 bytes per
reference, 64 MiB for 24 bits) or the sorted values, searched with ``searchsorted``
(sparse substrings: small sets with ``chunks=11``, or fewer, wider substrings). 10 M
references take about 1.3 GB. ``save``/``load`` write .npy files; ``load(mmap=True)`` maps them.
"""
from __future__ import annotations

import binascii
import itertools
import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from forensics.matchers.models import DIHEDRAL_NAMES, PdqDigest, PdqMatch

DEFAULT_RADIUS = 31
DEFAULT_MIN_QUALITY = 50
SMALL_INDEX = 200_000        # below: 16 substrings of 16 bits; from here on: 11 of 23-24 bits
FORMAT = "forensics-pdq-index"
FORMAT_VERSION = 1


def hex_to_codes(hashes: Sequence[str]) -> np.ndarray:
    """(N, 32) uint8 array from 64-hex PDQ strings; ValueError names the first bad one."""
    if not len(hashes):
        return np.zeros((0, 32), dtype=np.uint8)
    try:
        joined = "".join(hashes).encode("ascii")
        if len(joined) != 64 * len(hashes):
            raise ValueError
        return np.frombuffer(binascii.unhexlify(joined), dtype=np.uint8).reshape(-1, 32)
    except (ValueError, UnicodeEncodeError, binascii.Error):
        for value in hashes:
            if len(value) != 64 or not all(c in "0123456789abcdefABCDEF" for c in value):
                raise ValueError(f"not a 64-hex PDQ hash: {value!r}") from None
        raise


def default_chunks(count: int) -> int:
    """Substring count for ``count`` references at radius 31 (measured: bench/pdq_index_bench.py).

    16 x 16 bits (radius 1 per substring, 17 probes each, 4 MB of tables) is fastest for small
    sets; from 200,000 references on, 11 x 23-24 bits (radius 2, 301 probes each, far fewer
    candidates) is 2-4 times faster, at a fixed ~450 MB of direct tables.
    """
    return 16 if count < SMALL_INDEX else 11


def _split(chunks: int) -> tuple[tuple[int, int], ...]:
    if not 8 <= chunks <= 256:
        raise ValueError("chunks must be between 8 (32-bit substrings) and 256")
    base, extra = divmod(256, chunks)
    widths = [base + 1] * extra + [base] * (chunks - extra)
    starts = itertools.accumulate([0] + widths[:-1])
    return tuple(zip(starts, widths))


def _substring(words: np.ndarray, start: int, width: int) -> np.ndarray:
    """Bits [start, start+width) of each row of (N, 4) uint64 words, most significant first."""
    index, shift = divmod(start, 64)
    window = words[:, index]
    if shift:
        window = window << np.uint64(shift)
        if index < 3:
            window |= words[:, index + 1] >> np.uint64(64 - shift)
    return (window >> np.uint64(64 - width)).astype(np.uint32)


@lru_cache(maxsize=64)
def _flips(width: int, radius: int) -> np.ndarray:
    """Every value of ``width`` bits with at most ``radius`` bits set (XOR masks to probe)."""
    masks = [sum(1 << bit for bit in bits)
             for k in range(radius + 1) for bits in itertools.combinations(range(width), k)]
    return np.array(masks, dtype=np.uint32)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distance of two (K, 4) uint64 arrays."""
    x = np.bitwise_xor(a, b)
    return np.bitwise_count(x).sum(axis=1, dtype=np.uint16)


class PdqIndex:
    """Reference PDQ hashes with integer ids; exact radius search (see module doc)."""

    def __init__(self, ids: np.ndarray, codes: np.ndarray, chunks: int | None = None,
                 tables: list[tuple[np.ndarray, np.ndarray, bool]] | None = None) -> None:
        if codes.ndim != 2 or codes.shape[1] != 32 or codes.dtype != np.uint8:
            raise ValueError("codes must be an (N, 32) uint8 array")
        if len(ids) != len(codes):
            raise ValueError("ids and codes differ in length")
        if len(codes) >= 2**32:
            raise ValueError("at most 2**32 - 1 references per index")
        self.ids = np.asarray(ids, dtype=np.int64)
        self.codes = codes
        self._words = codes.view(np.uint64) if codes.flags.c_contiguous else np.ascontiguousarray(codes).view(np.uint64)
        self.layout = _split(chunks or default_chunks(len(codes)))
        self.tables = tables if tables is not None else [self._table(s, w) for s, w in self.layout]

    # --- building -----------------------------------------------------------------------------

    @classmethod
    def build(cls, items: Iterable[tuple[int, str]], chunks: int | None = None,
              batch: int = 1_000_000) -> PdqIndex:
        """Index (id, hex) pairs read from any iterator, ``batch`` at a time."""
        id_parts, code_parts = [], []
        iterator = iter(items)
        while True:
            block = list(itertools.islice(iterator, batch))
            if not block:
                break
            id_parts.append(np.fromiter((i for i, _ in block), dtype=np.int64, count=len(block)))
            code_parts.append(hex_to_codes([h for _, h in block]))
        ids = np.concatenate(id_parts) if id_parts else np.zeros(0, dtype=np.int64)
        codes = np.concatenate(code_parts) if code_parts else np.zeros((0, 32), dtype=np.uint8)
        return cls(ids, codes, chunks)

    def _table(self, start: int, width: int) -> tuple[np.ndarray, np.ndarray, bool]:
        keys = _substring(self._words, start, width)
        order = np.argsort(keys).astype(np.uint32)
        if width <= 16 or (1 << width) <= 64 * len(keys):   # direct table: <= 256 B per reference
            offsets = np.zeros((1 << width) + 1, dtype=np.uint32)
            np.cumsum(np.bincount(keys, minlength=1 << width), out=offsets[1:])
            return order, offsets, True
        return order, keys[order], False

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def nbytes(self) -> int:
        return self.ids.nbytes + self.codes.nbytes + sum(o.nbytes + t.nbytes for o, t, _ in self.tables)

    # --- searching ----------------------------------------------------------------------------

    def search(self, queries: np.ndarray | Sequence[str], radius: int = DEFAULT_RADIUS
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All (query row, reference row, distance) with distance <= radius, sorted.

        ``queries`` is an (Q, 32) uint8 array or a sequence of hex strings. Reference rows
        index ``self.ids`` / ``self.codes``.
        """
        q = queries if isinstance(queries, np.ndarray) else hex_to_codes(list(queries))
        qwords = np.ascontiguousarray(q, dtype=np.uint8).view(np.uint64)
        per_chunk = radius // len(self.layout)
        found_q, found_r, found_d = [], [], []
        for (start, width), (order, table, direct) in zip(self.layout, self.tables):
            flips = _flips(width, per_chunk)
            probes = (_substring(qwords, start, width)[:, None] ^ flips[None, :]).ravel()
            if direct:
                low, high = table[probes].astype(np.int64), table[probes + 1].astype(np.int64)
            else:
                low = np.searchsorted(table, probes, "left")
                high = np.searchsorted(table, probes, "right")
            counts = high - low
            total = int(counts.sum())
            if not total:
                continue
            rows = order[np.repeat(low - np.cumsum(counts) + counts, counts) + np.arange(total)]
            query_rows = np.repeat(np.repeat(np.arange(len(q)), len(flips)), counts)
            distance = _distances(self._words[rows], qwords[query_rows])
            keep = distance <= radius
            found_q.append(query_rows[keep])
            found_r.append(rows[keep].astype(np.int64))
            found_d.append(distance[keep])
        if not found_q:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.uint16)
        pairs = np.unique(np.concatenate(found_q) * len(self.codes) + np.concatenate(found_r),
                          return_index=True)
        distance = np.concatenate(found_d)[pairs[1]]
        query_rows, ref_rows = np.divmod(pairs[0], len(self.codes))
        return query_rows, ref_rows, distance

    def match(self, digest: PdqDigest, radius: int = DEFAULT_RADIUS,
              min_quality: int = DEFAULT_MIN_QUALITY) -> tuple[PdqMatch, ...]:
        """References within ``radius`` of any of the image's 8 dihedral hashes.

        One match per reference, at its smallest distance (the first transform in
        DIHEDRAL_NAMES order on ties). Images of quality below ``min_quality`` are not
        matched (their hashes are too flat to be evidence); returns ().
        """
        if digest.quality < min_quality:
            return ()
        query_rows, ref_rows, distance = self.search(list(digest.dihedral), radius)
        best: dict[int, tuple[int, int]] = {}
        for q, r, d in zip(query_rows.tolist(), ref_rows.tolist(), distance.tolist()):
            if r not in best or (d, q) < best[r]:
                best[r] = (d, q)
        matches = [PdqMatch(reference_id=int(self.ids[r]), reference_hash=self.codes[r].tobytes().hex(),
                            distance=d, transform=DIHEDRAL_NAMES[q]) for r, (d, q) in best.items()]
        return tuple(sorted(matches, key=lambda m: (m.distance, m.reference_id)))

    # --- persistence --------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "ids.npy", self.ids)
        np.save(directory / "codes.npy", self.codes)
        for j, (order, table, _) in enumerate(self.tables):
            np.save(directory / f"order_{j}.npy", order)
            np.save(directory / f"table_{j}.npy", table)
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "count": len(self),
                "chunks": len(self.layout), "direct": [d for _, _, d in self.tables]}
        (directory / "index.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = True) -> PdqIndex:
        directory = Path(directory)
        meta = json.loads((directory / "index.json").read_text())
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"{directory} is not a {FORMAT} v{FORMAT_VERSION} directory")
        mode = "r" if mmap else None
        tables = [(np.load(directory / f"order_{j}.npy", mmap_mode=mode),
                   np.load(directory / f"table_{j}.npy", mmap_mode=mode), bool(direct))
                  for j, direct in enumerate(meta["direct"])]
        return cls(np.load(directory / "ids.npy", mmap_mode=mode),
                   np.load(directory / "codes.npy", mmap_mode=mode), meta["chunks"], tables)


def brute_force(references: np.ndarray, queries: np.ndarray, radius: int = DEFAULT_RADIUS
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear scan with the same output as :meth:`PdqIndex.search` (for tests and checks)."""
    ref_words = np.ascontiguousarray(references).view(np.uint64)
    out_q, out_r, out_d = [], [], []
    for row, query in enumerate(np.ascontiguousarray(queries).view(np.uint64)):
        distance = np.bitwise_count(ref_words ^ query).sum(axis=1, dtype=np.uint16)
        hits = np.flatnonzero(distance <= radius)
        out_q.append(np.full(len(hits), row, dtype=np.int64))
        out_r.append(hits.astype(np.int64))
        out_d.append(distance[hits])
    if not out_q:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint16)
    return np.concatenate(out_q), np.concatenate(out_r), np.concatenate(out_d)
