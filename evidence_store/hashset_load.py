"""Bulk load of a hash-set file: an NSRL-sized set (tens of millions of rows) in minutes, not hours.

The rows are parsed and grouped by ``forensics.matchers.hashsets.bulk`` (in a second process for
large files, so parsing and writing use both cores) and written without ORM objects into the set's
own table (``hashset_tables``), created empty in the import's transaction, its three partial hash
indexes built after the rows (one sorted build each, not tens of millions of random b-tree inserts):

* **SQLite**: ``executemany`` into the new table; the ``hashset_entries`` view is written again in
  the same transaction. Readers in other processes (the content pass of a running exhibit) keep
  reading the last committed snapshot (WAL); they see the new set when it commits, whole.
* **PostgreSQL**: ``COPY`` into the detached table, indexes and ``ANALYZE``, then ``ATTACH
  PARTITION`` (its check constraint spares the scan of the partition bound; the foreign key to
  ``hashsets`` is checked in one query; readers go on: MVCC, and a lock that lets them).

A set added beside others no longer goes through their indexes: the second set loads as fast as
the first. The indexes are partial (``WHERE md5 IS NOT NULL``…) and, on PostgreSQL, byte-wise
(``"C"`` collation). Either way the set is all there or not there at all: a failed import leaves
no table and no partial set.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from evidence_store import hashset_tables
from evidence_store.db import Database

BYTES_PER_ENTRY = 48            # a rough size of one line of a hash list, to estimate its rows
IN_PROCESS_BYTES = 16 << 20      # smaller files are parsed in this process (a spawn costs ~0.3 s)
PDQ_FIELD = 3                    # ROW index of the PDQ value
SORT_THREADS = 2                 # SQLite helper threads for the sorts of CREATE INDEX (PRAGMA threads)


def _estimated_rows(path: str | Path, fmt: str) -> int:
    if fmt == "nsrl-rdsv3":
        import sqlite3

        connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            return connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM FILE").fetchone()[0]
        finally:
            connection.close()
    return Path(path).stat().st_size // BYTES_PER_ENTRY


def expected_digests(path: str | Path, fmt: str) -> int:
    """At least the number of digests the file can hold, to size its filter (folded to fit after)."""
    if fmt == "nsrl-rdsv3":
        return 3 * _estimated_rows(path, fmt)
    return Path(path).stat().st_size // 32 + 1         # a digest is 32 hex characters or more


def load(db: Database, hashset_id: int, path: str | Path, fmt: str, *, default_category: str | None = None,
         tick: Callable[[int], None] | None = None, warn: Callable[[str], None] | None = None,
         filter_path: str | Path | None = None) -> tuple[int, int, str | None]:
    """Writes the set's rows in one transaction; returns (entries, entries with a PDQ value, the
    filter's SHA-256). With ``filter_path``, the set's digest filter is written there from the same
    rows (digest_filter)."""
    from forensics.matchers.hashsets import bulk
    from forensics.matchers.models import HashSetWarning

    mode = "copy" if db.dialect == "postgresql" else "rows"
    # COPY text is formatted in a second process while PostgreSQL takes the previous piece; SQLite's
    # rows are parsed here (sending tuples between processes costs more than the fast paths take)
    large = Path(path).stat().st_size >= IN_PROCESS_BYTES
    produce = bulk.pieces_in_process if mode == "copy" and large else bulk.pieces
    counts = [0, 0]
    written: list[str] = []                      # the filter's SHA-256, from whichever process wrote it

    def each_piece():
        for piece in produce(path, fmt, mode=mode, hashset_id=hashset_id, default_category=default_category,
                             filter_path=str(filter_path) if filter_path else None,
                             expected_digests=expected_digests(path, fmt) if filter_path else 0):
            if isinstance(piece, HashSetWarning):
                if warn:
                    warn(f"line {piece.line}: {piece.message}")
                continue
            if isinstance(piece, bulk.FilterWritten):
                written.append(piece.sha256)
                continue
            for fields, payload, count in piece:
                yield bulk.field_names(fields), payload, count
                counts[0] += count
                counts[1] += count if PDQ_FIELD in fields else 0
                if tick:
                    tick(count)

    with db.engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if mode == "copy":
                # a detached table of its own, indexed when full, attached as the set's partition at
                # the end (the lock ATTACH takes lets the content pass go on reading the other sets)
                connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")  # index builds sort in memory
                hashset_tables.create_postgres_table(connection, hashset_id)
                target = hashset_tables.table_name(hashset_id)
                for names, text, _ in each_piece():
                    cursor.copy_expert(f"COPY {target} (hashset_id, {names}) FROM STDIN", io.StringIO(text))
                hashset_tables.create_indexes(connection, hashset_id)
                connection.exec_driver_sql(f"ANALYZE {target}")
                hashset_tables.attach_postgres_table(connection, hashset_id)
            else:
                # the connection's own 16 MiB page cache: a 1 GiB one made the 50 M import slower (263 s
                # against 229 s, back to back) and its peak RSS 2.7 GiB instead of 0.5 (bench/README.md)
                threads = connection.exec_driver_sql("PRAGMA threads").scalar()
                connection.exec_driver_sql(f"PRAGMA threads={SORT_THREADS}")   # index builds sort on more cores
                try:
                    hashset_tables.create_sqlite_table(connection, hashset_id)
                    target = hashset_tables.table_name(hashset_id)
                    # ids above every other set's: a placeholder row with the highest id so far, removed after
                    start = hashset_tables.sqlite_next_id(connection, hashset_id)
                    if start:
                        connection.exec_driver_sql(f"INSERT INTO {target} (id, hashset_id) "
                                                   f"VALUES ({int(start)}, {int(hashset_id)})")
                    for names, rows, _ in each_piece():
                        marks = ", ".join("?" * (names.count(",") + 1))
                        cursor.executemany(f"INSERT INTO {target} (hashset_id, {names}) "
                                           f"VALUES ({int(hashset_id)}, {marks})", rows)
                    if start:
                        connection.exec_driver_sql(f"DELETE FROM {target} WHERE id = {int(start)}")
                    hashset_tables.create_indexes(connection, hashset_id)
                    hashset_tables.write_sqlite_view(connection)
                finally:                                   # the connection goes back to the pool as it was
                    connection.exec_driver_sql(f"PRAGMA threads={int(threads)}")
        finally:
            cursor.close()
    return counts[0], counts[1], written[0] if written else None
