"""TLSH digests: minimum size, streaming equals whole, distances order similar documents."""
from __future__ import annotations

import random

import pytest

from forensics.errors import ItemError
from forensics.matchers.errors import MatcherItemError
from forensics.matchers.tlsh_digest import MIN_SIZE, distance, nearest, prepare, tlsh_digest


def _document(seed: int, words: int = 600) -> bytes:
    rng = random.Random(seed)
    vocabulary = [f"word{n}" for n in range(400)] + ["evidence", "seized", "custody", "report"]
    return " ".join(rng.choice(vocabulary) for _ in range(words)).encode()


def _edited(data: bytes, seed: int, edits: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(edits):
        out[rng.randrange(len(out))] = rng.randrange(97, 123)
    return bytes(out)


def _table(seed: int, rows: int = 300) -> bytes:
    rng = random.Random(seed)
    return "".join(f"{n},{rng.randrange(10**6)},{rng.random():.4f}\n" for n in range(rows)).encode()


def test_below_minimum_or_without_variety_there_is_no_digest():
    assert tlsh_digest(_document(1)[: MIN_SIZE - 1]) is None
    assert tlsh_digest(b"a" * 5000) is None
    assert tlsh_digest([]) is None
    digest = tlsh_digest(bytes(range(256)) * 4)
    assert digest is not None and digest.digest.startswith("T1") and digest.size == 1024


def test_chunks_give_the_same_digest():
    data = _document(2)
    assert tlsh_digest([data[i:i + 100] for i in range(0, len(data), 100)]) == tlsh_digest(data)
    assert prepare().digest(memoryview(data)) == tlsh_digest(data)


def test_distance_grows_with_edits():
    base = _document(3)
    light, heavy, other = _edited(base, 1, 10), _edited(base, 2, 600), _table(4)
    d = [distance(tlsh_digest(base).digest, tlsh_digest(x).digest) for x in (base, light, heavy, other)]
    assert d[0] == 0 and d[1] < d[2] < d[3] and d[1] <= 30


def test_nearest_ranks_and_cuts():
    base = _document(5)
    corpus = [("same", base), ("light", _edited(base, 1, 5)), ("heavy", _edited(base, 2, 900)),
              ("other", _table(9))]
    digests = [(key, tlsh_digest(data).digest) for key, data in corpus]
    ranked = nearest(tlsh_digest(base).digest, digests, k=10, max_distance=None)
    assert [key for key, _ in ranked] == ["same", "light", "heavy", "other"]
    assert [d for _, d in ranked] == sorted(d for _, d in ranked)
    assert [key for key, _ in nearest(digests[0][1], digests, k=2)] == ["same", "light"]
    assert all(d <= 50 for _, d in nearest(digests[0][1], digests, max_distance=50))


def test_unreadable_stream_is_an_item_error():
    def failing():
        yield _document(6)
        raise ItemError("TSK read failed")

    with pytest.raises(MatcherItemError, match="TSK read failed") as caught:
        tlsh_digest(failing())
    assert caught.value.kind == "unreadable"
