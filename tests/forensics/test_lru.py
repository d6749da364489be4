"""The workers' caches are bounded by bytes: however many items pass, what they hold stays under the bound."""
from __future__ import annotations

from forensics.lru import SizedLRU


def test_evicts_least_recently_used_by_bytes():
    cache: SizedLRU[str, str] = SizedLRU(100, lambda key, value: len(value))
    cache.put("a", "x" * 40)
    cache.put("b", "y" * 40)
    assert cache.get("a") == "x" * 40                      # a is now the most recent
    cache.put("c", "z" * 40)                               # 120 > 100: b goes, not a
    assert "b" not in cache and cache.get("a") and cache.get("c") and cache.bytes == 80
    cache.put("a", "x" * 10)                               # replacing counts the new size only
    assert cache.bytes == 50 and len(cache) == 2


def test_memory_stays_bounded_whatever_passes():
    cache: SizedLRU[int, bytes] = SizedLRU(10_000, lambda key, value: len(value) + 50)
    for i in range(100_000):
        cache.put(i, b"v" * (i % 300))
        assert cache.bytes <= 10_000 or len(cache) == 1
    assert len(cache) < 200 and cache.get(99_999) is not None and cache.get(0) is None


def test_an_entry_larger_than_the_bound_is_kept_alone():
    cache: SizedLRU[str, bytes] = SizedLRU(10, lambda key, value: len(value))
    cache.put("small", b"1234")
    cache.put("big", b"x" * 50)
    assert len(cache) == 1 and cache.get("big") and cache.get("small") is None
    cache.clear()
    assert len(cache) == 0 and cache.bytes == 0
