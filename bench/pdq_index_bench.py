#!/usr/bin/env python3
"""PDQ index benchmark: build time, memory and lookups/s against 1 M and 10 M references.

A lookup is what one image costs: its 8 dihedral hashes searched at radius 31 (one
``PdqIndex.match`` call), or the same 8 queries inside a batched ``search`` of many images.
References are random 256-bit hashes, built through ``PdqIndex.build`` from (id, hex) pairs
as the importer would stream them from the database; ``--planted`` of them get a near
duplicate (1..31 bits flipped, sometimes of a rotated/flipped variant) among the lookups,
and every planted reference must be found at its exact distance, or the run fails.
Optionally (``--faiss``) faiss-cpu's binary indexes are timed on the same data.

    .venv/bin/python bench/pdq_index_bench.py [--sizes 1000000 10000000] [--lookups 2000]
                                              [--batch 64] [--planted 500] [--faiss]

Speed lives here as reported figures, never as timed assertions in tests/.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import psutil

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forensics.matchers.models import DIHEDRAL_NAMES, PdqDigest  # noqa: E402
from forensics.matchers.pdq_index import PdqIndex, brute_force  # noqa: E402

MIB = 1024 * 1024


def rss() -> int:
    return psutil.Process().memory_info().rss


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def flip(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    out = code.copy()
    for bit in rng.choice(256, size=bits, replace=False):
        out[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def make_lookups(references: np.ndarray, count: int, planted: int, rng: np.random.Generator):
    """``count`` lookups of 8 hashes; the first ``planted`` hide a near duplicate of a reference."""
    queries = rng.integers(0, 256, size=(count, 8, 32), dtype=np.uint8)
    expected = []
    for n, row in enumerate(rng.choice(len(references), size=planted, replace=False)):
        transform, bits = int(rng.integers(0, 8)), int(rng.integers(0, 32))
        queries[n, transform] = flip(references[row], bits, rng)
        expected.append((n, int(row), bits, DIHEDRAL_NAMES[transform]))
    return queries, expected


def bench_size(size: int, args, rng: np.random.Generator) -> dict:
    print(f"\n== {size:,} references ==", flush=True)
    references = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    queries, expected = make_lookups(references, args.lookups, min(args.planted, args.lookups), rng)
    before = rss()
    started = time.perf_counter()
    index = PdqIndex.build(((n, references[n].tobytes().hex()) for n in range(size)),
                           chunks=args.chunks, batch=1_000_000)
    build_s = time.perf_counter() - started
    del references
    result = {"references": size, "chunks": len(index.layout), "radius": args.radius,
              "build_s": round(build_s, 1), "index_mib": round(index.nbytes / MIB),
              "rss_after_build_mib": round(rss() / MIB), "rss_growth_mib": round((rss() - before) / MIB),
              "direct_tables": sum(d for _, _, d in index.tables)}
    print(f"build {build_s:.1f} s (from hex pairs), index {result['index_mib']} MiB, "
          f"RSS {result['rss_after_build_mib']} MiB", flush=True)

    # one image at a time: PdqIndex.match (8 queries, best transform per reference)
    found = {}
    started = time.perf_counter()
    for n in range(args.lookups):
        digest = PdqDigest(queries[n, 0].tobytes().hex(), 100, "cimg512",
                           tuple(q.tobytes().hex() for q in queries[n]))
        found[n] = index.match(digest, radius=args.radius)
    single_s = time.perf_counter() - started
    result["lookups_per_s_single"] = round(args.lookups / single_s, 1)
    print(f"match(): {result['lookups_per_s_single']} lookups/s (8 queries each, radius {args.radius})")

    # batched: many images' 8 queries in one search call
    started = time.perf_counter()
    candidates = 0
    for first in range(0, args.lookups, args.batch):
        block = queries[first:first + args.batch].reshape(-1, 32)
        candidates += len(index.search(block, args.radius)[0])
    batch_s = time.perf_counter() - started
    result["lookups_per_s_batched"] = round(args.lookups / batch_s, 1)
    result["batch"] = args.batch
    print(f"search() in batches of {args.batch} images: {result['lookups_per_s_batched']} lookups/s")

    missed = [e for e in expected if not any(m.reference_id == e[1] and m.distance <= e[2]
                                             for m in found[e[0]])]
    result["planted"] = len(expected)
    result["planted_found"] = len(expected) - len(missed)
    checked = min(args.verify, args.lookups)
    exact = all(_same(index.search(queries[n], args.radius),
                      brute_force(index.codes, queries[n], args.radius)) for n in range(checked))
    result["brute_force_checked_lookups"] = checked
    result["brute_force_equal"] = exact
    print(f"planted near-duplicates found: {result['planted_found']}/{len(expected)}; "
          f"equal to a linear scan on {checked} lookups: {exact}")
    if args.faiss and size <= args.faiss_max:
        result["faiss"] = bench_faiss(index.codes, queries, args)
    result["peak_rss_mib"] = round(peak_rss() / MIB)
    del index
    return result


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def bench_faiss(codes: np.ndarray, queries: np.ndarray, args) -> dict:
    try:
        import faiss
    except ImportError:
        return {"skipped": "faiss-cpu not installed"}
    out = {"version": faiss.__version__}
    codes = np.ascontiguousarray(codes)
    for name, make, lookups in (("IndexBinaryMultiHash(16x16, nflip=1)", lambda: faiss.IndexBinaryMultiHash(256, 16, 16),
                                 min(args.lookups, 500)),
                                ("IndexBinaryFlat", lambda: faiss.IndexBinaryFlat(256), min(args.lookups, 40))):
        index = make()
        if hasattr(index, "nflip"):
            index.nflip = 1  # 31 // 16 = 1: exact at radius 31
        started = time.perf_counter()
        index.add(codes)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        for n in range(lookups):
            index.range_search(queries[n], args.radius + 1)  # faiss keeps distance < radius
        rate = lookups / (time.perf_counter() - started)
        out[name] = {"build_s": round(build_s, 1), "lookups_per_s_single": round(rate, 1)}
        print(f"faiss {name}: build {build_s:.1f} s, {rate:.1f} lookups/s")
        del index
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--planted", type=int, default=500)
    parser.add_argument("--verify", type=int, default=5, help="lookups checked against a linear scan")
    parser.add_argument("--radius", type=int, default=31)
    parser.add_argument("--chunks", type=int, default=None, help="substrings (default: by size)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faiss", action="store_true", help="also time faiss-cpu binary indexes")
    parser.add_argument("--faiss-max", type=int, default=1_000_000, help="largest size to time faiss on")
    parser.add_argument("--out", type=Path, default=Path("/tmp/forensics-bench/pdq_index.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    results = [bench_size(size, args, rng) for size in args.sizes]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"host": platform.node(), "cpus": psutil.cpu_count(),
                                    "numpy": np.__version__, "results": results}, indent=1))
    print(f"\n{'references':>12} {'build s':>8} {'index MiB':>10} {'peak RSS MiB':>13} "
          f"{'lookups/s':>10} {'batched/s':>10} {'planted found':>14}")
    for r in results:
        print(f"{r['references']:>12,} {r['build_s']:>8} {r['index_mib']:>10} {r['peak_rss_mib']:>13} "
              f"{r['lookups_per_s_single']:>10} {r['lookups_per_s_batched']:>10} "
              f"{r['planted_found']:>7}/{r['planted']:<6}")
    print(f"results: {args.out}")
    ok = all(r["planted_found"] == r["planted"] and r["brute_force_equal"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
