"""NTFS $FILE_NAME times beside the $STANDARD_INFORMATION times, and the anomaly between them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:35:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TIMES = ("fn_crtime", "fn_mtime", "fn_ctime", "fn_atime")


def upgrade() -> None:
    with op.batch_alter_table('file_entries', schema=None) as batch_op:
        for name in TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('time_anomaly', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('file_entries', schema=None) as batch_op:
        batch_op.drop_column('time_anomaly')
        for name in reversed(TIMES):
            batch_op.drop_column(name)
