"""The case database: every byte written about a case goes through here.

SQLAlchemy models, Alembic migrations, the stage functions shared by the CLI and
the Airflow DAG, and queries for listings. It never opens evidence itself: it
calls :mod:`forensics` for that.
"""
from __future__ import annotations
