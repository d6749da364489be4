"""cross-case links: the values each exhibit can share, and requests to see the other side

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'link_values',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('exhibit_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('value_key', sa.String(length=64), nullable=False),
        sa.Column('occurrences', sa.Integer(), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('item', sa.String(length=10), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('location', sa.Text(), nullable=False),
        sa.Column('offset', sa.BigInteger(), nullable=True),
        sa.Column('restricted', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_link_values_case_id_cases')),
        sa.ForeignKeyConstraint(['exhibit_id'], ['exhibits.id'], name=op.f('fk_link_values_exhibit_id_exhibits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_values')),
        sa.UniqueConstraint('exhibit_id', 'kind', 'value_key', name=op.f('uq_link_values_exhibit_id')),
    )
    with op.batch_alter_table('link_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_values_exhibit_id'), ['exhibit_id'], unique=False)
        batch_op.create_index('ix_link_values_value_key_case_id', ['value_key', 'case_id'], unique=False)
        batch_op.create_index('ix_link_values_case_id_kind_value_key', ['case_id', 'kind', 'value_key'], unique=False)
        batch_op.create_index('ix_link_values_kind_case_id', ['kind', 'case_id'], unique=False)
    op.create_table(
        'link_access',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('other_case_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.Text(), nullable=False),
        sa.Column('state', sa.Enum('pending', 'approved', 'refused', name='link_access_state', native_enum=False,
                                   create_constraint=True, length=20), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_link_access_user_id_users')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_link_access_case_id_cases')),
        sa.ForeignKeyConstraint(['other_case_id'], ['cases.id'], name=op.f('fk_link_access_other_case_id_cases')),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_link_access_decided_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_access')),
    )
    with op.batch_alter_table('link_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_access_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_access_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_access_other_case_id'), ['other_case_id'], unique=False)


def downgrade() -> None:
    op.drop_table('link_access')
    op.drop_table('link_values')
