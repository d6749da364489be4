"""Known-hash sets at NSRL scale: import rate, and lookups/s on a large set while a content pass runs.

    .venv/bin/python bench/hashset_bench.py [--entries 50000000] [--db sqlite|postgresql|both]
                                            [--workdir DIR] [--lookups 200000] [--no-load]

1. Writes (once, cached in the workdir) a list of ``--entries`` random MD5s in sha256sum layout
   (``HASH  NAME``), a 1/10 size NSRL RDSv3 database (``FILE`` table, upper-case hex as NIST
   publishes it, all three hashes per row) and a second MD5 list of 1/10 the size.
2. Imports each in that order with ``import_hashset`` (what ``forensics hashset import`` runs):
   entries/s, on SQLite and on PostgreSQL (a scratch schema in the ``test`` database on 127.0.0.1).
   The second list, beside the other two sets, shows what adding a set costs once sets are there
   (each set loads into a table of its own).
3. Looks up ``--stream-lookups`` streams (half present, half absent; MD5, SHA-1 and SHA-256 each) the
   way the content pass does (``matching.Knowledge.lookup_many`` over groups of 200 streams: the sets'
   digest filters rule most digests out, the rest are probed with one ``IN`` statement per algorithm),
   then again with the present half taken at random places in the list instead of its first entries
   (whose rows share table pages: the figure a real case's known files give is the spread one),
   then one stream at a time (``Knowledge.lookup``), then ``--lookups`` MD5s 1,000 per query without
   filters (the database's own capacity), while another process runs ``forensics process`` on the
   sample disk against the same database (so the lookups compete with a real content pass for the
   database and the CPU).

Targets (issue 10): import >= 200,000 entries/s; lookups >= 100,000/s on a 50-million-entry set.
Peak RSS is printed: memory does not grow with the set.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
SCHEMA = "forensics_hashset_bench"


def write_list(path: Path, entries: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as out:
        for start in range(0, entries, 100_000):
            out.write("".join(f"{hashlib.md5(rng.randbytes(16)).hexdigest()}  file{index}\n"
                              for index in range(start, min(entries, start + 100_000))))
    tmp.rename(path)


def present_md5s(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [hashlib.md5(rng.randbytes(16)).hexdigest() for _ in range(count)]


def spread_md5s(listing: Path, count: int, seed: int = 5) -> list[str]:
    """``count`` MD5s of the list at random places in it (its lines read at random offsets): a real case's
    known files sit anywhere in a 50 M set, each probe on index and table pages of its own, where the
    list's first entries (``present_md5s``) share their table pages. The list file is read, not the
    database, so nothing of the database is brought into the page cache by the choice."""
    rng, size, found = random.Random(seed), listing.stat().st_size, set()
    with listing.open("rb") as handle:
        while len(found) < count:
            handle.seek(rng.randrange(size))
            handle.readline()                       # the rest of the line the offset fell in
            line = handle.readline()
            if len(line) > 32:
                found.add(line[:32].decode())
    return sorted(found)


def write_rdsv3(path: Path, entries: int, seed: int = 7) -> None:
    """The FILE table of an RDSv3 database (the columns the importer reads), NIST's upper-case hex."""
    tmp = path.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    con.execute("CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT, "
                "file_size INTEGER, package_id INTEGER)")
    rng = random.Random(seed)
    for start in range(0, entries, 100_000):
        rows = []
        for index in range(start, min(entries, start + 100_000)):
            data = rng.randbytes(24)
            rows.append((hashlib.sha256(data).hexdigest().upper(), hashlib.sha1(data).hexdigest().upper(),
                         hashlib.md5(data).hexdigest().upper(), "00000000", f"lib{index}.dll", 1000 + index,
                         index % 5000))
        con.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    tmp.rename(path)


def database(kind: str, workdir: Path, keep: bool = False):
    """A fresh database (or, with ``keep``, the one the last run imported into)."""
    from evidence_store.db import Database

    if keep:
        return Database(f"sqlite:///{workdir / 'hashsets.db'}" if kind == "sqlite" else
                        f"{PG_URL}?options=-csearch_path%3D{SCHEMA}")
    if kind == "sqlite":
        path = workdir / "hashsets.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        db = Database(f"sqlite:///{path}")
    else:
        admin = Database(PG_URL)
        with admin.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            connection.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
        admin.dispose()
        db = Database(f"{PG_URL}?options=-csearch_path%3D{SCHEMA}")
    db.migrate()
    return db


def timed_import(db, path: Path, name: str, fmt: str) -> tuple[int, float]:
    from evidence_store.knowledge import import_hashset

    started = time.monotonic()
    row = import_hashset(db, str(path), name, "known-good", fmt=fmt, actor=("bench", "technician"))
    return row.entries, time.monotonic() - started


def background_content_pass(db_url: str, workdir: Path) -> subprocess.Popen:
    """``forensics process`` on the sample disk, over and over, against the same database."""
    script = f"""
import sys, itertools
from forensics.sample import build_sample_image
from evidence_store.db import Database
from evidence_store.intake import add_exhibit, create_case
from evidence_store.pipeline import process_exhibit
from evidence_store.stages.options import StageOptions
db = Database({db_url!r})
image = build_sample_image({str(workdir / 'sample.raw')!r}).path
from evidence_store.store import StoreError
try:
    create_case(db, "BENCH")
except StoreError:
    pass                                  # a run with --no-import: the case is there already
run = __import__("time").time_ns()
for n in itertools.count():
    exhibit = add_exhibit(db, "BENCH", f"EX-{{run}}-{{n}}", str(image), "bench")
    process_exhibit(db, exhibit.id, options=StageOptions(carve=False))
    print("content pass", n, flush=True)
"""
    env = dict(os.environ, FORENSICS_DATA_DIR=str(workdir / "data"))
    return subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def lookups(db, count: int, entries: int, group: int, present_share: float = 0.5,
            listing: Path | None = None) -> tuple[float, int, str]:
    """Streams looked up as the content pass does (``group`` at a time; 1 = one by one), ``present_share``
    of them in the MD5 list: its first entries, or with ``listing`` entries spread over the whole list.
    Each run prepares its own knowledge (a new worker: nothing cached)."""
    from evidence_store.matching import Knowledge
    from evidence_store.stages.options import StageOptions
    from forensics.content import Digests

    wanted = min(entries, int(count * present_share))
    present = spread_md5s(listing, wanted) if listing is not None and wanted else present_md5s(wanted)
    absent = [hashlib.md5(f"absent{i}".encode()).hexdigest() for i in range(count - len(present))]
    queries = present + absent
    random.Random(2).shuffle(queries)
    streams = [Digests(0, md5, hashlib.sha1(md5.encode()).hexdigest(), hashlib.sha256(md5.encode()).hexdigest(),
                       "", "", False) for md5 in queries]
    knowledge = Knowledge(db, StageOptions())
    found = 0
    started = time.monotonic()
    with db.reading() as session:
        for start in range(0, len(streams), group):
            found += sum(bool(f) for f in knowledge.lookup_many(session, streams[start:start + group]))
    return count / (time.monotonic() - started), found, knowledge.filter_state


def batched_lookups(db, count: int, entries: int) -> tuple[float, int]:
    """Capacity: the same mix looked up 1,000 at a time (indexed IN), as a batch lookup would."""
    from sqlalchemy import select

    from evidence_store.models import HashSetEntry

    present = present_md5s(min(entries, count // 2), seed=1)
    queries = present + [hashlib.md5(f"absent{i}".encode()).hexdigest() for i in range(count - len(present))]
    random.Random(3).shuffle(queries)
    found = 0
    started = time.monotonic()
    with db.reading() as session:
        for start in range(0, len(queries), 1000):
            found += len(session.execute(select(HashSetEntry.id).where(
                HashSetEntry.md5.in_(queries[start:start + 1000]))).all())
    return count / (time.monotonic() - started), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "forensics-hashset-bench")
    parser.add_argument("--lookups", type=int, default=200_000, help="hashes looked up 1,000 per query")
    parser.add_argument("--stream-lookups", type=int, default=50_000,
                        help="streams looked up as the content pass does, then one by one")
    parser.add_argument("--no-load", action="store_true", help="look up without a content pass running beside")
    parser.add_argument("--no-import", action="store_true",
                        help="look up in the sets the last run imported (same --entries) instead of importing")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.environ["FORENSICS_DATA_DIR"] = str(args.workdir / "data")
    listing = args.workdir / f"md5-{args.entries}.txt"
    rds = args.workdir / f"rdsv3-{args.entries // 10}.db"
    if not listing.exists():
        started = time.monotonic()
        write_list(listing, args.entries)
        print(f"wrote {listing.name} ({listing.stat().st_size / 2**20:,.0f} MiB) in {time.monotonic() - started:.0f} s")
    second = args.workdir / f"md5-{args.entries // 10}-second.txt"
    if not second.exists():
        write_list(second, args.entries // 10, seed=3)
    if not rds.exists():
        write_rdsv3(rds, args.entries // 10)
        print(f"wrote {rds.name} ({rds.stat().st_size / 2**20:,.0f} MiB)")

    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    print(f"{'database':<11} {'what':<34} {'entries':>12} {'seconds':>8} {'per second':>12}  target")
    for kind in kinds:
        db = database(kind, args.workdir, keep=args.no_import)
        if not args.no_import:
            count, seconds = timed_import(db, listing, "md5-list", "hash-list")
            print(f"{kind:<11} {'import MD5 list (first set)':<34} {count:>12,} {seconds:>8.1f} "
                  f"{count / seconds:>12,.0f}  >= 200,000/s {'met' if count / seconds >= 200_000 else 'NOT met'}")
            count, seconds = timed_import(db, rds, "NSRL-RDSv3-sample", "nsrl-rdsv3")
            print(f"{kind:<11} {'import NSRL RDSv3 (beside the first)':<34} {count:>12,} {seconds:>8.1f} "
                  f"{count / seconds:>12,.0f}  >= 200,000/s {'met' if count / seconds >= 200_000 else 'NOT met'} "
                  f"({3 * count / seconds:,.0f} digests/s: MD5, SHA-1 and SHA-256 per row)")
            count, seconds = timed_import(db, second, "md5-list-2", "hash-list")
            print(f"{kind:<11} {'import MD5 list (beside both)':<34} {count:>12,} {seconds:>8.1f} "
                  f"{count / seconds:>12,.0f}  >= 200,000/s {'met' if count / seconds >= 200_000 else 'NOT met'}")
        background = None if args.no_load else background_content_pass(db.url, args.workdir)
        try:
            if background is not None:
                time.sleep(5)                     # the content pass is under way
            grouped, grouped_found, filters = lookups(db, args.stream_lookups, args.entries, group=200)
            spread, spread_found, _ = lookups(db, args.stream_lookups, args.entries, group=200, listing=listing)
            unknown, _, _ = lookups(db, args.stream_lookups, args.entries, group=200, present_share=0)
            rate, found, _ = lookups(db, args.stream_lookups, args.entries, group=1)
            batched, batched_found = batched_lookups(db, args.lookups, args.entries)
        finally:
            passes = 0
            if background is not None:
                background.terminate()
                output, _ = background.communicate()
                passes = output.count("content pass")
                if background.returncode not in (0, -15):
                    print(output[-2000:])
        beside = f"beside {passes} content pass(es)" if background is not None else "alone"
        total = args.entries + 2 * (args.entries // 10)
        print(f"{kind:<11} {'lookups (content pass, groups of 200)':<34} {args.stream_lookups:>12,} "
              f"{args.stream_lookups / grouped:>8.1f} "
              f"{grouped:>12,.0f}  >= 100,000/s {'met' if grouped >= 100_000 else 'NOT met'} "
              f"({grouped_found:,} found; {total:,} entries; {beside}; filters {filters})")
        print(f"{kind:<11} {'lookups (half spread over the set)':<34} {args.stream_lookups:>12,} "
              f"{args.stream_lookups / spread:>8.1f} "
              f"{spread:>12,.0f}  >= 100,000/s {'met' if spread >= 100_000 else 'NOT met'} "
              f"({spread_found:,} found at random places in the list, not its first entries; {beside})")
        print(f"{kind:<11} {'lookups (content pass, none in a set)':<34} {args.stream_lookups:>12,} "
              f"{args.stream_lookups / unknown:>8.1f} "
              f"{unknown:>12,.0f}  >= 100,000/s {'met' if unknown >= 100_000 else 'NOT met'} ({beside})")
        print(f"{kind:<11} {'lookups (one stream at a time)':<34} {args.stream_lookups:>12,} "
              f"{args.stream_lookups / rate:>8.1f} "
              f"{rate:>12,.0f}  >= 100,000/s {'met' if rate >= 100_000 else 'NOT met'} "
              f"({found:,} found; {total:,} entries; {beside})")
        print(f"{kind:<11} {'lookups (1,000 MD5s/query, no filter)':<34} {args.lookups:>12,} {args.lookups / batched:>8.1f} "
              f"{batched:>12,.0f}  >= 100,000/s {'met' if batched >= 100_000 else 'NOT met'} "
              f"({batched_found:,} found; {beside})")
        db.dispose()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
