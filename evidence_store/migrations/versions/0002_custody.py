"""custody ledger: append-only events, keys, signed checkpoints; exhibit trust and custodian

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("custody_events", "custody_keys", "custody_checkpoints")
APP_ROLE = "forensics_app"


def upgrade() -> None:
    with op.batch_alter_table("exhibits") as batch:
        batch.add_column(sa.Column("results_trusted", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("custodian", sa.String(200), nullable=True))
    op.create_table(
        "custody_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chain", sa.String(200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("case_name", sa.String(200)),
        sa.Column("exhibit", sa.String(200)),
        sa.Column("root_exhibit", sa.String(200)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(100), nullable=False),
        sa.Column("witness", sa.String(200)),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("occurred_offset", sa.String(8), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("location", sa.Text()),
        sa.Column("purpose", sa.Text()),
        sa.Column("authority", sa.Text()),
        sa.Column("from_custodian", sa.String(200)),
        sa.Column("to_custodian", sa.String(200)),
        sa.Column("seals_removed", sa.Text()),
        sa.Column("seals_applied", sa.Text()),
        sa.Column("seal_intact", sa.Boolean()),
        sa.Column("hash_algorithm", sa.String(20)),
        sa.Column("hash_before", sa.String(128)),
        sa.Column("hash_after", sa.String(128)),
        sa.Column("hash_match", sa.Boolean()),
        sa.Column("tool_name", sa.String(100)),
        sa.Column("tool_version", sa.String(40)),
        sa.Column("tool_parameters", sa.Text()),
        sa.Column("outcome", sa.String(20)),
        sa.Column("details", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_events")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_custody_events_chain")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_custody_events_idempotency_key")),
    )
    op.create_table(
        "custody_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_keys")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_custody_keys_fingerprint")),
    )
    op.create_table(
        "custody_checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chain", sa.String(200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.String(40), nullable=False),
        sa.Column("key_fingerprint", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_checkpoints")),
        sa.UniqueConstraint("chain", "seq", "key_fingerprint", name=op.f("uq_custody_checkpoints_chain")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END""")


def _postgres_guards() -> None:
    op.execute("""
        CREATE OR REPLACE FUNCTION forensics_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
        END $$""")
    for table in APPEND_ONLY:
        op.execute(f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
                       FOR EACH ROW EXECUTE FUNCTION forensics_append_only()""")
        op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                       FOR EACH STATEMENT EXECUTE FUNCTION forensics_append_only()""")
    # The application role may read and append, nothing else. The lab connects as it
    # (or as a login role granted it); the migration owner keeps the privilege to migrate.
    op.execute(f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        END IF; END $$""")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS forensics_append_only()")
    for table in reversed(APPEND_ONLY):
        op.drop_table(table)
    with op.batch_alter_table("exhibits") as batch:
        batch.drop_column("custodian")
        batch.drop_column("results_trusted")
