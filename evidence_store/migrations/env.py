"""Alembic environment: runs against the connection the caller passes in."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from evidence_store.hashset_tables import schema_check_options
from evidence_store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      **schema_check_options(connection.dialect.name))   # hash-set tables: made by imports
    with context.begin_transaction():
        context.run_migrations()


run()
