"""Engine, sessions and migrations for the case database.

SQLite (embedded, the default) or PostgreSQL, chosen by URL: ``--db`` on the
command line or ``FORENSICS_DATABASE_URL`` in the environment (Airflow workers).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DIR = Path("cases")
ENV_URL = "FORENSICS_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")


def default_url() -> str:
    return os.environ.get(ENV_URL) or f"sqlite:///{(DEFAULT_DIR / 'forensics.db').resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-16384")      # 16 MiB page cache per connection (reads go through the mmap)
    cursor.execute("PRAGMA mmap_size=268435456")    # 256 MiB of the file read through the page cache
    cursor.close()


def data_dir(url: str) -> Path:
    """Where files that belong with the database live (artifacts, compiled rules, PDQ indexes):
    $FORENSICS_DATA_DIR, else beside the SQLite file, else ./cases."""
    if os.environ.get("FORENSICS_DATA_DIR"):
        return Path(os.environ["FORENSICS_DATA_DIR"]).resolve()
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url[len("sqlite:///"):]).parent.resolve()
    return DEFAULT_DIR.resolve()


class Database:
    """One case database; ``migrate()`` brings its schema to the current revision."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        if self.url.startswith("sqlite:///"):
            Path(self.url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # BEGIN IMMEDIATE: writers (CLI workers, Airflow tasks) queue on the write lock
            # instead of failing on a stale snapshot, so custody appends stay serialized.
            event.listen(self.engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_engine: Engine | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def alembic_config(self):
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def migrate(self) -> None:
        from alembic import command

        with self.engine.begin() as connection:
            config = self.alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def is_initialized(self) -> bool:
        return inspect(self.engine).has_table("alembic_version")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any exception."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A long read-only snapshot (reports, exports) that never holds the write lock.

        On SQLite (WAL) a deferred transaction reads a consistent snapshot while workers keep
        writing; ``session()`` would take the write lock for as long as the read lasts.
        """
        if self.dialect != "sqlite":
            with self.session() as session:
                session.connection().exec_driver_sql("SET TRANSACTION READ ONLY")
                yield session
                session.expunge_all()        # what was read stays readable after the snapshot ends
                session.rollback()
            return
        if self._read_engine is None:
            self._read_engine = create_engine(self.url, future=True)
            event.listen(self._read_engine, "connect", _sqlite_pragmas)
            # long scans (reports, listings) read through SQLite's page cache and the OS's,
            # not a 1 GiB mapping of the file that would count as this process's memory
            event.listen(self._read_engine, "connect",
                         lambda connection, _record: connection.execute("PRAGMA mmap_size=0"))
            event.listen(self._read_engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
        session = Session(self._read_engine, expire_on_commit=False)
        try:
            yield session
        finally:
            session.expunge_all()            # what was read stays readable after the snapshot ends
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()
