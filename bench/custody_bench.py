"""Custody ledger scale: events/s appended and verified for a 1,000,000-event chain.

    .venv/bin/python bench/custody_bench.py [--events 1000000] [--db URL]

Appends events through the ledger (each with its head lookup, canonical hash and
insert; 1,000 per transaction), reporting the rate of the first and last 10% so
constant-time appends can be seen, then verifies the chain. Run once on SQLite
(default) and once with --db postgresql+psycopg2://postgres@127.0.0.1:5432/DBNAME.
Target: verify 1,000,000 events in under 60 s, memory bounded whatever the size.
"""
from __future__ import annotations

import argparse
import resource
import time
import uuid
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--per-transaction", type=int, default=1000)
    args = parser.parse_args()

    from evidence_store.custody.ledger import Event, append
    from evidence_store.custody.service import verify
    from evidence_store.db import Database

    url = args.db or f"sqlite:///{Path('/tmp') / f'custody-bench-{uuid.uuid4().hex[:8]}.db'}"
    db = Database(url)
    db.migrate()
    chain = f"BENCH-{uuid.uuid4().hex[:8]}"
    tenth = max(1, args.events // 10)
    rates, started, mark = [], time.monotonic(), time.monotonic()
    written = 0
    while written < args.events:
        with db.session() as session:
            for _ in range(min(args.per_transaction, args.events - written)):
                append(session, Event(action="view", actor="bench", actor_role="examiner", case_name=chain,
                                      exhibit=f"EX-{written % 7}", purpose="bench",
                                      idempotency_key=f"{chain}:{written}"))
                written += 1
        if written % tenth == 0:
            now = time.monotonic()
            rates.append(tenth / (now - mark))
            mark = now
    append_s = time.monotonic() - started
    rss_append = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"append: {args.events:,} events in {append_s:.1f} s = {args.events / append_s:,.0f} events/s; "
          f"first 10% {rates[0]:,.0f}/s, last 10% {rates[-1]:,.0f}/s; peak RSS {rss_append:.0f} MiB")
    started = time.monotonic()
    reports, _ = verify(db, chain)
    verify_s = time.monotonic() - started
    report = reports[0]
    print(f"verify: {report.events:,} events in {verify_s:.1f} s = {report.events / verify_s:,.0f} events/s, "
          f"ok={report.ok}; target < 60 s -> {'met' if verify_s < 60 else 'NOT met'}; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB ({db.dialect})")


if __name__ == "__main__":
    main()
