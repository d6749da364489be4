"""hash-set entries: one table per set (PostgreSQL partitions of hashset_entries; SQLite a view over them)

A new set then loads into an empty table and builds its own indexes, instead of going through the
indexes of every set already imported (evidence_store/hashset_tables.py). The rows of the shared
table move into their set's table, ids unchanged. The DDL is written out here as it was at this
revision (later changes to hashset_tables.py do not change what this migration did).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 08:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

COLUMNS = "id, hashset_id, md5, sha1, sha256, pdq, category, name, size, reference"
DIGESTS = ("md5", "sha1", "sha256")


def _indexes(name: str) -> None:
    for digest in DIGESTS:
        op.execute(f"CREATE INDEX ix_{name}_{digest} ON {name} ({digest}) WHERE {digest} IS NOT NULL")


def _postgres_parent(primary_key: str, partitioning: str = "") -> None:
    """``hashset_entries`` on PostgreSQL: partitioned by set (upgrade) or one table (downgrade); ids from the
    one sequence either way."""
    op.execute("CREATE TABLE hashset_entries (id BIGINT NOT NULL DEFAULT nextval('hashset_entries_id_seq'), "
               "hashset_id INTEGER NOT NULL, md5 VARCHAR(32) COLLATE \"C\", sha1 VARCHAR(40) COLLATE \"C\", "
               "sha256 VARCHAR(64) COLLATE \"C\", pdq VARCHAR(64), category VARCHAR(200), name TEXT, size BIGINT, "
               f"reference VARCHAR(200), CONSTRAINT pk_hashset_entries PRIMARY KEY {primary_key}, "
               "CONSTRAINT fk_hashset_entries_hashset_id_hashsets FOREIGN KEY (hashset_id) REFERENCES hashsets (id))"
               + partitioning)


def _set_ids() -> list[int]:
    """Every set, with entries or not (an import makes a table even for an empty set)."""
    return [row[0] for row in op.get_bind().exec_driver_sql("SELECT id FROM hashsets ORDER BY id")]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgres()
    else:
        _upgrade_sqlite()


def _upgrade_sqlite() -> None:
    ids = _set_ids()
    for set_id in ids:
        name = f"hashset_entries_{set_id}"
        op.execute(f"CREATE TABLE {name} (id INTEGER NOT NULL PRIMARY KEY, "
                   f"hashset_id INTEGER NOT NULL REFERENCES hashsets (id) CHECK (hashset_id = {set_id}), "
                   "md5 VARCHAR(32), sha1 VARCHAR(40), sha256 VARCHAR(64), pdq VARCHAR(64), category VARCHAR(200), "
                   "name TEXT, size BIGINT, reference VARCHAR(200))")
        op.execute(f"INSERT INTO {name} ({COLUMNS}) SELECT {COLUMNS} FROM hashset_entries "
                   f"WHERE hashset_id = {set_id} ORDER BY id")
        _indexes(name)
    op.execute("DROP TABLE hashset_entries")
    arms = [f"SELECT {COLUMNS} FROM hashset_entries_{set_id}" for set_id in ids] or [
        "SELECT CAST(NULL AS INTEGER) AS id, CAST(NULL AS INTEGER) AS hashset_id, CAST(NULL AS TEXT) AS md5, "
        "CAST(NULL AS TEXT) AS sha1, CAST(NULL AS TEXT) AS sha256, CAST(NULL AS TEXT) AS pdq, "
        "CAST(NULL AS TEXT) AS category, CAST(NULL AS TEXT) AS name, CAST(NULL AS INTEGER) AS size, "
        "CAST(NULL AS TEXT) AS reference WHERE 0"]
    op.execute("CREATE VIEW hashset_entries AS " + " UNION ALL ".join(arms))


def _upgrade_postgres() -> None:
    ids = _set_ids()
    op.execute("ALTER TABLE hashset_entries RENAME TO hashset_entries_shared")
    op.execute("ALTER TABLE hashset_entries_shared DROP CONSTRAINT fk_hashset_entries_hashset_id_hashsets")
    op.execute("ALTER TABLE hashset_entries_shared DROP CONSTRAINT pk_hashset_entries")
    for digest in DIGESTS:
        op.execute(f"DROP INDEX ix_hashset_entries_{digest}")
    op.execute("ALTER SEQUENCE hashset_entries_id_seq OWNED BY NONE")
    # the partition key must be part of the primary key; ids stay unique through the one sequence
    _postgres_parent("(id, hashset_id)", " PARTITION BY LIST (hashset_id)")
    op.execute("ALTER SEQUENCE hashset_entries_id_seq OWNED BY hashset_entries.id")
    _indexes("hashset_entries")
    for set_id in ids:
        name = f"hashset_entries_{set_id}"
        # as an import makes it: filled detached, indexed, attached (the indexes keep their names)
        op.execute(f"CREATE TABLE {name} (LIKE hashset_entries INCLUDING DEFAULTS, "
                   f"CONSTRAINT ck_{name}_set CHECK (hashset_id IS NOT NULL AND hashset_id = {set_id}), "
                   f"CONSTRAINT pk_{name} PRIMARY KEY (id, hashset_id))")
        op.execute(f"INSERT INTO {name} ({COLUMNS}) SELECT {COLUMNS} FROM hashset_entries_shared "
                   f"WHERE hashset_id = {set_id} ORDER BY id")
        _indexes(name)
        op.execute(f"ALTER TABLE hashset_entries ATTACH PARTITION {name} FOR VALUES IN ({set_id})")
    op.execute("DROP TABLE hashset_entries_shared")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE hashset_entries RENAME TO hashset_entries_sets")
        op.execute("ALTER TABLE hashset_entries_sets DROP CONSTRAINT pk_hashset_entries")
        op.execute("ALTER TABLE hashset_entries_sets DROP CONSTRAINT fk_hashset_entries_hashset_id_hashsets")
        for digest in DIGESTS:
            op.execute(f"DROP INDEX ix_hashset_entries_{digest}")
        op.execute("ALTER SEQUENCE hashset_entries_id_seq OWNED BY NONE")
        _postgres_parent("(id)")
        op.execute("ALTER SEQUENCE hashset_entries_id_seq OWNED BY hashset_entries.id")
        op.execute(f"INSERT INTO hashset_entries ({COLUMNS}) SELECT {COLUMNS} FROM hashset_entries_sets ORDER BY id")
        op.execute("DROP TABLE hashset_entries_sets")          # and its partitions
    else:
        ids = [row[0] for row in op.get_bind().exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'hashset_entries_[0-9]*'")]
        op.execute("DROP VIEW hashset_entries")
        op.execute("CREATE TABLE hashset_entries (id INTEGER NOT NULL, hashset_id INTEGER NOT NULL, "
                   "md5 VARCHAR(32), sha1 VARCHAR(40), sha256 VARCHAR(64), pdq VARCHAR(64), category VARCHAR(200), "
                   "name TEXT, size BIGINT, reference VARCHAR(200), "
                   "CONSTRAINT pk_hashset_entries PRIMARY KEY (id), "
                   "CONSTRAINT fk_hashset_entries_hashset_id_hashsets FOREIGN KEY (hashset_id) REFERENCES hashsets (id))")
        for name in sorted(ids):
            op.execute(f"INSERT INTO hashset_entries ({COLUMNS}) SELECT {COLUMNS} FROM {name} ORDER BY id")
            op.execute(f"DROP TABLE {name}")
    _indexes("hashset_entries")
