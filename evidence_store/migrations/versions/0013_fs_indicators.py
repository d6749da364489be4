"""identifiers the file system carries: serial number, user names and SIDs in paths

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'fs_indicators',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('exhibit_id', sa.Integer(), nullable=False),
        sa.Column('volume_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('value_key', sa.String(length=64), nullable=False),
        sa.Column('location', sa.Text(), nullable=False),
        sa.Column('occurrences', sa.Integer(), nullable=False),
        sa.Column('extractor', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['exhibit_id'], ['exhibits.id'], name=op.f('fk_fs_indicators_exhibit_id_exhibits')),
        sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], name=op.f('fk_fs_indicators_volume_id_volumes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fs_indicators')),
        sa.UniqueConstraint('volume_id', 'kind', 'value_key', name=op.f('uq_fs_indicators_volume_id')),
    )
    with op.batch_alter_table('fs_indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fs_indicators_exhibit_id'), ['exhibit_id'], unique=False)
        batch_op.create_index('ix_fs_indicators_kind_value_key', ['kind', 'value_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fs_indicators', schema=None) as batch_op:
        batch_op.drop_index('ix_fs_indicators_kind_value_key')
        batch_op.drop_index(batch_op.f('ix_fs_indicators_exhibit_id'))
    op.drop_table('fs_indicators')
