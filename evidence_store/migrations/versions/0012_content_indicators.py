"""identifiers extracted from content, once per SHA-256

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'content_indicators',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('value_key', sa.String(length=64), nullable=False),
        sa.Column('offset', sa.BigInteger(), nullable=False),
        sa.Column('length', sa.Integer(), nullable=False),
        sa.Column('context', sa.Text(), nullable=False),
        sa.Column('encoding', sa.String(length=10), nullable=False),
        sa.Column('extractor', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_content_indicators')),
        sa.UniqueConstraint('sha256', 'kind', 'value_key', 'offset',
                            name=op.f('uq_content_indicators_sha256')),
    )
    with op.batch_alter_table('content_indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_indicators_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_content_indicators_kind_value_key', ['kind', 'value_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('content_indicators', schema=None) as batch_op:
        batch_op.drop_index('ix_content_indicators_kind_value_key')
        batch_op.drop_index(batch_op.f('ix_content_indicators_sha256'))
    op.drop_table('content_indicators')
