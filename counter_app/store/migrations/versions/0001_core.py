"""Core tables: transactions, audit chain, outbox, 受理编号 sequences, flow checkpoints.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("acceptance_number", sa.String(40), nullable=False, unique=True),
        sa.Column("item_code", sa.String(40), nullable=False),
        sa.Column("operator_number", sa.String(20), nullable=False),
        sa.Column("outlet_code", sa.String(20), nullable=False),
        sa.Column("counter_number", sa.String(10), nullable=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("holder_ref", sa.String(80), nullable=False),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("details", sa.LargeBinary, nullable=False),
        sa.Column("server_command", sa.String(40), nullable=True),
        sa.Column("server_payload", sa.LargeBinary, nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_transactions_holder_ref", "transactions", ["holder_ref"])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("acceptance_number", sa.String(40), nullable=True),
        sa.Column("item_code", sa.String(40), nullable=False),
        sa.Column("operator_number", sa.String(20), nullable=False),
        sa.Column("outlet_code", sa.String(20), nullable=False),
        sa.Column("counter_number", sa.String(10), nullable=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("holder_ref", sa.String(80), nullable=False),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_entries_acceptance_number", "audit_entries", ["acceptance_number"])
    op.create_index("ix_audit_entries_entry_hash", "audit_entries", ["entry_hash"])
    op.create_table(
        "outbox_messages",
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("command", sa.String(40), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column(
            "acceptance_number",
            sa.String(40),
            sa.ForeignKey("transactions.acceptance_number", name="fk_outbox_transaction"),
            nullable=True,
        ),
        sa.Column("status", sa.String(24), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("audit_head_seq", sa.Integer, nullable=False),
        sa.Column("audit_head_hash", sa.String(64), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'acknowledged', 'rejected', 'needs_reconciliation')",
            name="ck_outbox_status",
        ),
    )
    op.create_index("ix_outbox_status_seq", "outbox_messages", ["status", "seq"])
    op.create_table(
        "acceptance_sequences",
        sa.Column("outlet_code", sa.String(20), primary_key=True),
        sa.Column("counter_number", sa.String(10), primary_key=True),
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last_value", sa.Integer, nullable=False),
    )
    op.create_table(
        "flow_checkpoints",
        sa.Column("flow_id", sa.String(80), primary_key=True),
        sa.Column("state", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "flow_checkpoints",
        "acceptance_sequences",
        "outbox_messages",
        "audit_entries",
        "transactions",
        "store_meta",
    ):
        op.drop_table(table)
