"""The Alembic migrations build exactly the schema the models declare (SQLite and PostgreSQL)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from evidence_store import hashset_tables
from evidence_store.models import Base, HashSetEntry


def test_migrations_match_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=hashset_tables.schema_check_options(db.dialect))
        assert compare_metadata(context, Base.metadata) == []


def test_hashset_entries_has_the_models_columns(db, tmp_path):
    """Left out of the comparison above: a set's own table (both databases) and, where it is a view
    (SQLite), ``hashset_entries`` — their columns are the model's."""
    from sqlalchemy import inspect

    from evidence_store.knowledge import import_hashset

    listing = tmp_path / "list.txt"
    listing.write_text("d41d8cd98f00b204e9800998ecf8427e  empty\n")
    row = import_hashset(db, str(listing), "one", "known-good", actor=("tester", "technician"))
    model = list(HashSetEntry.__table__.columns.keys())
    assert [c["name"] for c in inspect(db.engine).get_columns(hashset_tables.table_name(row.id))] == model
    with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            assert hashset_tables.sqlite_view_columns(connection) == model
