"""file entries found inside containers: parent entry, depth in the chain, extractor

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('file_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('depth', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('extractor', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_file_entries_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_file_entries_parent_id_file_entries'), 'file_entries',
                                    ['parent_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('file_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_file_entries_parent_id_file_entries'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_file_entries_parent_id'))
        batch_op.drop_column('extractor')
        batch_op.drop_column('depth')
        batch_op.drop_column('parent_id')
