"""Where hash-set entries live: one table per hash set, ``hashset_entries_<set id>``.

A set is loaded into a table of its own, created empty with its indexes built after the rows
(``hashset_load``): importing the next NSRL release beside the current one costs what the first
import cost, instead of inserting tens of millions of keys into the indexes of every set already
there (12-15k entries/s beside a 50-million-entry set; see bench/README.md).

* **PostgreSQL**: ``hashset_entries`` is a table partitioned by ``hashset_id`` (LIST); a set's
  table is filled while detached and attached as its partition when it is whole (attaching takes a
  lock that lets readers go on). Its indexes become partitions of the parent's indexes.
* **SQLite**: ``hashset_entries`` is a view, the ``UNION ALL`` of the set tables, written again in
  the transaction that adds a set (readers of the last committed snapshot keep the old view).

Queries on ``HashSetEntry`` (the model) read all sets either way; code that knows the set asks its
table (``entries_of``), so SQLite does not scan every set's table for ``hashset_id = …``. Entry ids
stay unique across sets (PostgreSQL: the parent's sequence; SQLite: each set's ids start above the
highest id of the others), so findings, PDQ indexes and links keep naming an entry by its id.
Migration 0016 moved the rows of one shared table into per-set tables.
"""
from __future__ import annotations

import re

from sqlalchemy import Connection, column, table

from evidence_store.models import HashSetEntry

PREFIX = "hashset_entries_"
DIGESTS = ("md5", "sha1", "sha256")
# the model's columns, in its order (the SQLite view lists them; the set tables repeat them)
COLUMNS = tuple(HashSetEntry.__table__.columns.keys())
_SET_TABLE = re.compile(rf"^{PREFIX}(\d+)$")


def table_name(hashset_id: int) -> str:
    return f"{PREFIX}{int(hashset_id)}"


def entries_of(hashset_id: int):
    """The set's own table, for Core selects (``entries_of(3).c.md5``)."""
    return table(table_name(hashset_id), *(column(name) for name in COLUMNS))


def is_set_table(name: str | None) -> bool:
    return bool(name and _SET_TABLE.match(name))


def include_in_schema_check(name, type_, parent_names) -> bool:
    """Alembic ``include_name``: the per-set tables (and their indexes) are made by imports, not by
    migrations, so the schema comparison leaves them out."""
    if type_ == "table":
        return not is_set_table(name)
    if type_ == "index":
        return not is_set_table((parent_names or {}).get("table_name"))
    return True


def schema_check_options(dialect: str) -> dict:
    """Options for alembic's comparison of the models with a database: without the set tables and, on
    SQLite, without ``hashset_entries`` (a view there; ``sqlite_view_columns`` is checked instead)."""
    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        owner = obj if type_ == "table" else getattr(obj, "table", None)
        return not (dialect == "sqlite" and getattr(owner, "name", None) == "hashset_entries")

    return {"include_name": include_in_schema_check, "include_object": include_object}


def sqlite_view_columns(connection: Connection) -> list[str]:
    return [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(hashset_entries)")]


def set_ids(connection: Connection) -> list[int]:
    """The sets that have a table, in id order."""
    if connection.dialect.name == "sqlite":
        names = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars()
    else:
        names = connection.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'hashset_entries'::regclass").scalars()   # the one on the search path
    return sorted(int(m.group(1)) for m in map(_SET_TABLE.match, names) if m)


def create_sqlite_table(connection: Connection, hashset_id: int) -> None:
    name = table_name(hashset_id)
    connection.exec_driver_sql(
        f"CREATE TABLE {name} (id INTEGER NOT NULL PRIMARY KEY, "
        f"hashset_id INTEGER NOT NULL REFERENCES hashsets (id) CHECK (hashset_id = {int(hashset_id)}), "
        "md5 VARCHAR(32), sha1 VARCHAR(40), sha256 VARCHAR(64), pdq VARCHAR(64), category VARCHAR(200), "
        "name TEXT, size BIGINT, reference VARCHAR(200))")


def create_postgres_table(connection: Connection, hashset_id: int) -> None:
    """Detached, shaped like the parent (columns, "C" collations, id default from the parent's
    sequence), its primary key and the check its partition bound needs (so attaching does not scan)."""
    name, set_id = table_name(hashset_id), int(hashset_id)
    connection.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE hashset_entries INCLUDING DEFAULTS, "
        f"CONSTRAINT ck_{name}_set CHECK (hashset_id IS NOT NULL AND hashset_id = {set_id}), "
        f"CONSTRAINT pk_{name} PRIMARY KEY (id, hashset_id))")


def create_indexes(connection: Connection, hashset_id: int) -> None:
    """The partial hash indexes, after the rows are in (one sorted build each)."""
    name = table_name(hashset_id)
    for digest in DIGESTS:
        connection.exec_driver_sql(f"CREATE INDEX ix_{name}_{digest} ON {name} ({digest}) "
                                   f"WHERE {digest} IS NOT NULL")


def attach_postgres_table(connection: Connection, hashset_id: int) -> None:
    connection.exec_driver_sql(f"ALTER TABLE hashset_entries ATTACH PARTITION {table_name(hashset_id)} "
                               f"FOR VALUES IN ({int(hashset_id)})")


def sqlite_next_id(connection: Connection, hashset_id: int) -> int:
    """The highest entry id of the other sets (a new set's ids start above it)."""
    highest = 0
    for other in set_ids(connection):
        if other != hashset_id:
            highest = max(highest, connection.exec_driver_sql(
                f"SELECT COALESCE(MAX(id), 0) FROM {table_name(other)}").scalar())
    return highest


def write_sqlite_view(connection: Connection) -> None:
    """``hashset_entries`` as the union of the set tables (an empty row source when there is none)."""
    names = ", ".join(COLUMNS)
    arms = [f"SELECT {names} FROM {table_name(i)}" for i in set_ids(connection)]
    if not arms:
        arms = ["SELECT " + ", ".join(f"CAST(NULL AS {'INTEGER' if n in ('id', 'hashset_id', 'size') else 'TEXT'}) "
                                      f"AS {n}" for n in COLUMNS) + " WHERE 0"]
    connection.exec_driver_sql("DROP VIEW IF EXISTS hashset_entries")
    connection.exec_driver_sql("CREATE VIEW hashset_entries AS " + " UNION ALL ".join(arms))
