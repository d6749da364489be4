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


def test_hashset_entries_has_the_models_columns(db):
    """Left out of the comparison above where it is a view (SQLite): its columns are the model's."""
    with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            assert hashset_tables.sqlite_view_columns(connection) == list(HashSetEntry.__table__.columns.keys())
        assert list(hashset_tables.COLUMNS) == list(HashSetEntry.__table__.columns.keys())
