"""rule sets record the YARA engine that scans with them (libyara or YARA-X) and its compiled file

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rulesets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('engine', sa.String(length=20), server_default='libyara', nullable=False))
        batch_op.add_column(sa.Column('engine_path', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('engine_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('engine_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('engine_split', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rulesets', schema=None) as batch_op:
        batch_op.drop_column('engine_split')
        batch_op.drop_column('engine_note')
        batch_op.drop_column('engine_sha256')
        batch_op.drop_column('engine_path')
        batch_op.drop_column('engine')
