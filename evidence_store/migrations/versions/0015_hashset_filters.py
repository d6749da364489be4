"""hash sets: the digest filter written at import (file and its SHA-256), asked before the database

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 03:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hashsets') as batch:
        batch.add_column(sa.Column('filter_path', sa.Text(), nullable=True))
        batch.add_column(sa.Column('filter_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('hashsets') as batch:
        batch.drop_column('filter_sha256')
        batch.drop_column('filter_path')
