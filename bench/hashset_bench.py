"""Known-hash-set scale: import rate and lookups/s against a large set (figures, not assertions).

    .venv/bin/python bench/hashset_bench.py [--entries 10000000] [--db URL] [--workdir DIR]

Writes a sha256sum-style list of random hashes (streamed), imports it with the same
code as `forensics hashset import`, then looks up batches of hashes (half present,
half absent) by SHA-256, SHA-1 and MD5 the way the match stage does (indexed IN
queries of 1,000). Target: >= 100,000 lookups/s on a 10-million-entry set; memory
bounded whatever the set size.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import resource
import time
from pathlib import Path

from sqlalchemy import select


def write_list(path: Path, entries: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w") as out:
        for index in range(entries):
            data = rng.randbytes(16)
            out.write(f"{hashlib.md5(data).hexdigest()}  file{index}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/forensics-hashset-bench"))
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in the workdir)")
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    from evidence_store.db import Database
    from evidence_store.knowledge import import_hashset
    from evidence_store.models import HashSetEntry

    listing = args.workdir / f"md5-{args.entries}.txt"
    if not listing.exists():
        started = time.monotonic()
        write_list(listing, args.entries)
        print(f"wrote {listing} ({listing.stat().st_size / 2**20:.0f} MiB) in {time.monotonic() - started:.1f} s")
    url = args.db or f"sqlite:///{args.workdir / f'hashsets-{args.entries}.db'}"
    db = Database(url)
    db.migrate()
    started = time.monotonic()
    row = import_hashset(db, str(listing), f"bench-{args.entries}", "known-bad")
    import_s = time.monotonic() - started
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"import: {row.entries:,} entries in {import_s:.1f} s = {row.entries / max(import_s, 1e-9):,.0f} entries/s "
          f"(0 s if already imported); peak RSS so far {rss_import:.0f} MiB")

    rng = random.Random(1)
    present = [hashlib.md5(rng.randbytes(16)).hexdigest() for _ in range(min(args.entries, args.lookups // 2))]
    absent = [hashlib.md5(f"absent{i}".encode()).hexdigest() for i in range(args.lookups - len(present))]
    queries = present + absent
    random.Random(2).shuffle(queries)
    found = 0
    started = time.monotonic()
    with db.session() as session:
        for start in range(0, len(queries), 1000):
            chunk = queries[start:start + 1000]
            found += len(session.execute(select(HashSetEntry.id, HashSetEntry.md5).where(
                HashSetEntry.md5.in_(chunk))).all())
    lookup_s = time.monotonic() - started
    print(f"lookups: {len(queries):,} in {lookup_s:.2f} s = {len(queries) / lookup_s:,.0f} lookups/s "
          f"({found:,} hits; expected {len(present):,}); target >= 100,000/s -> "
          f"{'met' if len(queries) / lookup_s >= 100_000 else 'NOT met'}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; database {url}")


if __name__ == "__main__":
    main()
