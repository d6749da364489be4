"""Bulk load of a hash-set file: an NSRL-sized set (tens of millions of rows) in minutes, not hours.

The rows are parsed and grouped by ``forensics.matchers.hashsets.bulk`` (in a second process for
large files, so parsing and writing use both cores) and written without ORM objects:

* **SQLite**: one write transaction drops the three hash indexes, inserts the rows with
  ``executemany`` and builds the indexes again before it commits (a sorted build instead of tens
  of millions of random b-tree inserts; when the table already holds more than the new set, the
  rows go into the indexes as they are inserted instead: rebuilding 50 million index entries to add
  5 million costs more). Readers in other processes (the content pass of a
  running exhibit) keep reading the last committed snapshot (WAL), indexes included, so their
  lookups stay indexed during an import; they see the new set when it commits, whole.
* **PostgreSQL**: ``COPY``. Into an empty table, the indexes and the foreign key are dropped and
  built (checked) after the copy, in the same transaction (the table's readers wait for that transaction; there is nothing
  for them to find in it yet). Into a table that already holds sets, the rows are copied into a
  temporary table and moved with one ``INSERT … SELECT`` (indexes maintained, each row's set
  checked; readers go on undisturbed, MVCC) — about a third of the speed of the first load (see
  bench/README.md; one table per set, attached as a partition, would remove that cost).

The indexes are partial (``WHERE md5 IS NOT NULL``…) and, on PostgreSQL, byte-wise (``"C"``
collation): migration 0007. Either way the set is all there or not there at all: a failed
import leaves no partial set.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.schema import AddConstraint, DropConstraint

from evidence_store.db import Database
from evidence_store.models import HashSetEntry

REBUILD_RATIO = 1               # SQLite: rebuild the indexes when the new set is at least as large as the table
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
         filter_path: str | Path | None = None) -> tuple[int, int]:
    """Writes the set's rows in one transaction; returns (entries, entries with a PDQ value). With
    ``filter_path``, the set's digest filter is written there from the same rows (digest_filter)."""
    from forensics.matchers.hashsets import bulk
    from forensics.matchers.models import HashSetWarning

    mode = "copy" if db.dialect == "postgresql" else "rows"
    # COPY text is formatted in a second process while PostgreSQL takes the previous piece; SQLite's
    # rows are parsed here (sending tuples between processes costs more than the fast paths take)
    large = Path(path).stat().st_size >= IN_PROCESS_BYTES
    produce = bulk.pieces_in_process if mode == "copy" and large else bulk.pieces
    counts = [0, 0]

    def each_piece():
        for piece in produce(path, fmt, mode=mode, hashset_id=hashset_id, default_category=default_category,
                             filter_path=str(filter_path) if filter_path else None,
                             expected_digests=expected_digests(path, fmt) if filter_path else 0):
            if isinstance(piece, HashSetWarning):
                if warn:
                    warn(f"line {piece.line}: {piece.message}")
                continue
            for fields, payload, count in piece:
                yield bulk.field_names(fields), payload, count
                counts[0] += count
                counts[1] += count if PDQ_FIELD in fields else 0
                if tick:
                    tick(count)

    table = HashSetEntry.__table__
    with db.engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if mode == "copy":
                connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")  # index builds sort in memory
                empty = connection.execute(select(func.count()).select_from(
                    select(table.c.id).limit(1).subquery())).scalar() == 0
                target = "hashset_entries" if empty else "hashset_load"
                if empty:                                  # rows checked and indexed once, at the end
                    for constraint in table.foreign_key_constraints:
                        connection.execute(DropConstraint(constraint))
                    for index in table.indexes:
                        index.drop(connection)
                else:
                    connection.exec_driver_sql("CREATE TEMPORARY TABLE hashset_load (LIKE hashset_entries "
                                               "INCLUDING DEFAULTS) ON COMMIT DROP")
                for names, text, _ in each_piece():
                    cursor.copy_expert(f"COPY {target} (hashset_id, {names}) FROM STDIN", io.StringIO(text))
                if empty:
                    for index in table.indexes:
                        index.create(connection)
                    for constraint in table.foreign_key_constraints:
                        connection.execute(AddConstraint(constraint))
                else:
                    names = ", ".join(c.name for c in table.columns if c.name != "id")
                    connection.exec_driver_sql(f"INSERT INTO hashset_entries ({names}) "
                                               f"SELECT {names} FROM hashset_load")
                connection.exec_driver_sql("ANALYZE hashset_entries")
            else:
                cache, threads = (connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in ("cache_size",
                                                                                                      "threads"))
                connection.exec_driver_sql("PRAGMA cache_size=-1048576")   # 1 GiB while the indexes are built
                connection.exec_driver_sql(f"PRAGMA threads={SORT_THREADS}")   # index builds sort on more cores
                # rebuilding the indexes pays when the new set is not small beside what is there already
                held = connection.execute(select(func.max(table.c.id))).scalar() or 0
                rebuild = held < REBUILD_RATIO * _estimated_rows(path, fmt)
                try:
                    if rebuild:
                        for index in table.indexes:
                            index.drop(connection)
                    for names, rows, _ in each_piece():
                        marks = ", ".join("?" * (names.count(",") + 1))
                        cursor.executemany(f"INSERT INTO hashset_entries (hashset_id, {names}) "
                                           f"VALUES ({int(hashset_id)}, {marks})", rows)
                    if rebuild:
                        for index in table.indexes:
                            index.create(connection)
                finally:                                   # the connection goes back to the pool as it was
                    connection.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
                    connection.exec_driver_sql(f"PRAGMA threads={int(threads)}")
        finally:
            cursor.close()
    return counts[0], counts[1]
