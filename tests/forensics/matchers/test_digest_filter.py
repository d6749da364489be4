"""The hash sets' digest filter: never "no" for a digest it was given, rarely "maybe" for others, and a
file that is damaged, cut short or another set's is refused (the lookups then ask the database)."""
from __future__ import annotations

import hashlib

import pytest

from forensics.matchers.hashsets.digest_filter import HEADER, DigestFilter, DigestFilterError, FilterBuilder


def _digests(algorithm, prefix: str, count: int) -> list[str]:
    return [algorithm(f"{prefix}{i}".encode()).hexdigest() for i in range(count)]


def _saved(tmp_path, values, expected=None, hashset_id=3):
    builder = FilterBuilder(expected if expected is not None else len(values))
    for start in range(0, len(values), 7000):
        builder.add_hex(values[start:start + 7000])
    path = tmp_path / "set.filter"
    return path, builder.save(path, hashset_id), builder


@pytest.mark.parametrize("algorithm", [hashlib.md5, hashlib.sha1, hashlib.sha256], ids=["md5", "sha1", "sha256"])
def test_every_digest_added_is_a_maybe_and_few_others_are(tmp_path, algorithm):
    present = _digests(algorithm, "in", 40_000)
    path, sha256, builder = _saved(tmp_path, present, expected=400_000)     # generous estimate: folded
    assert builder.digests == 40_000
    assert len(builder.words) * 64 >= 40_000 * 10 and len(builder.words) * 64 < 40_000 * 20
    found = DigestFilter(path, 3, sha256)
    assert all(found.maybe(v) for v in present)
    assert all(found.maybe(v.upper()) for v in present[:100])           # hex of either case
    absent = _digests(algorithm, "out", 40_000)
    false_maybe = sum(found.maybe(v) for v in absent)
    assert false_maybe < 0.04 * len(absent), false_maybe


def test_values_that_are_not_digests_are_left_out(tmp_path):
    good = _digests(hashlib.md5, "g", 100)
    values = good[:50] + [None, "", "zz" * 16, "abc"] + good[50:]
    path, sha256, builder = _saved(tmp_path, values)
    assert builder.digests == 100
    found = DigestFilter(path, 3, sha256)
    assert all(found.maybe(v) for v in good)


def test_an_empty_set_says_no(tmp_path):
    path, sha256, _ = _saved(tmp_path, [])
    assert not DigestFilter(path, 3, sha256).maybe(hashlib.md5(b"x").hexdigest())


def test_a_damaged_short_or_foreign_file_is_refused(tmp_path):
    path, sha256, _ = _saved(tmp_path, _digests(hashlib.sha1, "x", 1000))
    with pytest.raises(DigestFilterError, match="belongs to hash set 3, not 4"):
        DigestFilter(path, 4, sha256)
    data = bytearray(path.read_bytes())
    data[HEADER.size + 5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DigestFilterError, match="SHA-256 is not the one recorded"):
        DigestFilter(path, 3, sha256)
    path.write_bytes(bytes(data[:-8]))
    with pytest.raises(DigestFilterError, match="cut short"):
        DigestFilter(path, 3, sha256)
    path.write_bytes(b"SQLite format 3\x00" + bytes(100))
    with pytest.raises(DigestFilterError, match="not a digest filter"):
        DigestFilter(path, 3, sha256)
    with pytest.raises(DigestFilterError, match="cannot open"):
        DigestFilter(tmp_path / "missing.filter", 3, sha256)


def test_many_at_once_says_what_one_at_a_time_says(tmp_path):
    present = _digests(hashlib.sha256, "in", 5000)
    path, sha256, _ = _saved(tmp_path, present)
    found = DigestFilter(path, 3, sha256)
    mixed = present[:2000] + _digests(hashlib.sha256, "out", 3000)
    assert found.maybe_many(mixed) == [found.maybe(v) for v in mixed]
    assert all(found.maybe_many(present))
    assert found.maybe_many([]) == []
