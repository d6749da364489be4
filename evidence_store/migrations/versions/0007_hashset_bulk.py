"""hash-set entries for bulk loads: partial hash indexes, byte-wise ("C") collation on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

HASHES = (("md5", 32), ("sha1", 40), ("sha256", 64))


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column, _ in HASHES:
        op.drop_index(f"ix_hashset_entries_{column}", table_name="hashset_entries")
    if postgres:
        for column, length in HASHES:
            op.alter_column("hashset_entries", column, type_=sa.String(length, collation="C"),
                            existing_type=sa.String(length), existing_nullable=True)
    for column, _ in HASHES:
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_hashset_entries_{column}", "hashset_entries", [column], unique=False,
                        sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column, _ in HASHES:
        op.drop_index(f"ix_hashset_entries_{column}", table_name="hashset_entries")
    if postgres:
        for column, length in HASHES:
            op.alter_column("hashset_entries", column, type_=sa.String(length),
                            existing_type=sa.String(length, collation="C"), existing_nullable=True)
    for column, _ in HASHES:
        op.create_index(f"ix_hashset_entries_{column}", "hashset_entries", [column], unique=False)
