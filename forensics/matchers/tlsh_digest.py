"""TLSH similarity digests of documents (py-tlsh, Trend Micro's reference implementation).

TLSH needs at least 50 bytes with enough variety: for shorter or too uniform data the
library has no digest (``TNULL``) and we return ``None``, so a file below TLSH's minimum
simply has no TLSH row. The digest is computed in one streaming pass over the file's chunks.

Distance (``tlsh.diff``, length term included): 0 means (near-)identical; it is unbounded
above (several hundred for unrelated files). The TLSH paper reports, on its test set, a cut-off
below 40 at 0.07 % false positives (49.6 % detection) and below 100 at 6.43 % false positives
(94.5 % detection). ``nearest`` cuts at ``max_distance`` (default 100) and reports each
distance, so the examiner sees how close a hit is.
Reference: Oliver, Cheng & Chen, "TLSH - A Locality Sensitive Hash" (CTC 2013),
https://github.com/trendmicro/tlsh.
"""
from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable
from typing import TypeVar

from forensics.errors import ItemError
from forensics.matchers.errors import MatcherItemError
from forensics.matchers.models import TlshDigest

MIN_SIZE = 50
DEFAULT_MAX_DISTANCE = 100
K = TypeVar("K", bound=Hashable)


def tlsh_digest(data: bytes | Iterable[bytes]) -> TlshDigest | None:
    """TLSH of bytes or of an iterable of chunks; None below TLSH's minimum (size, variety)."""
    import tlsh

    chunks = (data,) if isinstance(data, (bytes, bytearray, memoryview)) else data
    state = tlsh.Tlsh()
    size = 0
    try:
        for chunk in chunks:
            if chunk:
                state.update(bytes(chunk))
                size += len(chunk)
    except (ItemError, OSError) as exc:
        raise MatcherItemError("unreadable", f"read failed after {size} bytes: {exc}") from exc
    return finish(state, size)


def finish(state, size: int) -> TlshDigest | None:
    """The digest of a ``tlsh.Tlsh`` fed ``size`` bytes; None below TLSH's minimum (size, variety)."""
    if state is None or size < MIN_SIZE:
        return None
    state.final()
    try:
        digest = state.hexdigest()
    except ValueError:  # "not enough variation in input"
        return None
    return TlshDigest(digest=digest, size=size) if digest and digest != "TNULL" else None


def tlsh_locator(reader, locator: str) -> TlshDigest | None:
    return tlsh_digest(reader.chunks(locator))


def distance(a: str, b: str) -> int:
    """TLSH distance of two digests (``T1`` form or the older one without prefix)."""
    import tlsh

    return tlsh.diff(a, b)


def nearest(query: str, candidates: Iterable[tuple[K, str]], k: int = 10,
            max_distance: int | None = DEFAULT_MAX_DISTANCE) -> list[tuple[K, int]]:
    """The ``k`` candidates closest to ``query``: [(key, distance)], nearest first.

    A linear scan in C per pair (about a microsecond each): fine for the digests of one
    case (hundreds of thousands); ties keep the candidates' order.
    """
    import tlsh

    scored = ((tlsh.diff(query, digest), n, key) for n, (key, digest) in enumerate(candidates))
    if max_distance is not None:
        scored = (s for s in scored if s[0] <= max_distance)
    return [(key, d) for d, _, key in heapq.nsmallest(k, scored)]


class TlshHasher:
    """The prepared matcher: TLSH of a byte string, a chunk stream or a locator."""

    def __init__(self) -> None:
        import tlsh  # noqa: F401  (fail at preparation, not at the first file)

    digest = staticmethod(tlsh_digest)
    digest_locator = staticmethod(tlsh_locator)


def prepare() -> TlshHasher:
    return TlshHasher()


def engine_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"py-tlsh": version("py-tlsh")}
