"""rule sets record the externals they use and the values defined for them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rulesets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('externals', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rulesets', schema=None) as batch_op:
        batch_op.drop_column('externals')
