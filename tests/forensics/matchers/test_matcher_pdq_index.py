"""The PDQ index finds exactly what a linear scan finds, for every layout and radius."""
from __future__ import annotations

import numpy as np
import pytest

from forensics.matchers.models import DIHEDRAL_NAMES, PdqDigest
from forensics.matchers.pdq_index import PdqIndex, brute_force, default_chunks, hex_to_codes


def _flip(codes: np.ndarray, bits: int, rng) -> np.ndarray:
    out = codes.copy()
    for row in out:
        for bit in rng.choice(256, size=bits, replace=False):
            row[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20240601)
    references = rng.integers(0, 256, size=(30_000, 32), dtype=np.uint8)
    picks = rng.integers(0, len(references), size=40)
    queries = np.concatenate([
        _flip(references[picks[:10]], 5, rng), _flip(references[picks[10:20]], 30, rng),
        _flip(references[picks[20:30]], 31, rng), _flip(references[picks[30:]], 32, rng),
        rng.integers(0, 256, size=(10, 32), dtype=np.uint8)])
    # near-duplicates among the references themselves: several hits for one query
    references[100:105] = _flip(np.repeat(references[99:100], 5, axis=0), 12, rng)
    queries = np.concatenate([queries, references[99:100]])
    return references, queries


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("chunks, radius", [(c, r) for c in (8, 10, 11, 16, 32) for r in (0, 10, 31, 40)
                                            if (c, r) not in ((8, 40), (10, 40))])  # 100k+ probes each
def test_search_equals_brute_force(data, chunks, radius):
    references, queries = data
    index = PdqIndex(np.arange(len(references)) + 1000, references, chunks=chunks)
    found = index.search(queries, radius)
    assert _same(found, brute_force(references, queries, radius))
    if radius == 31:
        assert set(found[0].tolist()) >= set(range(30)) | {50}  # every planted hit within 31
        assert len(found[0]) >= 36


def test_both_table_kinds_are_exercised(data):
    references, queries = data
    wide = PdqIndex(np.arange(len(references)), references, chunks=11)       # 2**23 > 64 N: sorted keys
    direct = PdqIndex(np.arange(len(references)), references, chunks=16)     # 16 bits: offsets
    assert not any(d for _, _, d in wide.tables) and all(d for _, _, d in direct.tables)
    assert _same(wide.search(queries), direct.search(queries))
    assert len(PdqIndex(np.arange(10), references[:10]).layout) == 16 == default_chunks(199_999)
    assert default_chunks(200_000) == 11


def test_build_from_an_iterator_in_batches(data):
    references, queries = data
    items = ((int(i) * 7, references[i].tobytes().hex().upper() if i % 2 else references[i].tobytes().hex())
             for i in range(len(references)))
    index = PdqIndex.build(items, batch=4096)
    assert np.array_equal(index.codes, references) and index.ids[3] == 21
    assert _same(index.search([q.tobytes().hex() for q in queries]), brute_force(references, queries))


def test_save_and_load(data, tmp_path):
    references, queries = data
    index = PdqIndex(np.arange(len(references)), references)
    index.save(tmp_path / "idx")
    for mmap in (True, False):
        loaded = PdqIndex.load(tmp_path / "idx", mmap=mmap)
        assert len(loaded) == len(references)
        assert _same(loaded.search(queries), index.search(queries))
    (tmp_path / "idx" / "index.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError):
        PdqIndex.load(tmp_path / "idx")


def test_match_uses_all_eight_transforms_and_keeps_the_best(data):
    references, _ = data
    index = PdqIndex(np.arange(len(references)) * 10, references)
    rng = np.random.default_rng(7)
    variants = [rng.integers(0, 256, size=32, dtype=np.uint8).tobytes().hex() for _ in range(8)]
    variants[3] = _flip(references[42:43], 20, rng)[0].tobytes().hex()   # rot270 within 20 bits
    variants[6] = _flip(references[42:43], 25, rng)[0].tobytes().hex()   # flipplus1 further away
    variants[5] = references[7].tobytes().hex()                          # flipy exact
    digest = PdqDigest(variants[0], 90, "cimg512", tuple(variants))
    matches = index.match(digest)
    assert [(m.reference_id, m.distance, m.transform) for m in matches] == [
        (70, 0, "flipy"), (420, 20, "rot270")]
    assert matches[1].reference_hash == references[42].tobytes().hex()
    assert index.match(digest, radius=10) == matches[:1]
    low = PdqDigest(variants[0], 49, "cimg512", tuple(variants))
    assert index.match(low) == () and index.match(low, min_quality=0) == matches
    assert DIHEDRAL_NAMES[5] == "flipy"


def test_empty_index_and_bad_hex():
    empty = PdqIndex.build([])
    assert len(empty) == 0 and all(len(a) == 0 for a in empty.search(["0" * 64]))
    with pytest.raises(ValueError, match="not a 64-hex PDQ hash"):
        hex_to_codes(["0" * 64, "xyz"])
    with pytest.raises(ValueError, match="not a 64-hex PDQ hash"):
        hex_to_codes(["g" * 64])
    with pytest.raises(ValueError):
        PdqIndex(np.arange(3), np.zeros((2, 32), dtype=np.uint8))
