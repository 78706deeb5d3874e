"""Replica of persons, cards and subsidy payments; sync cursors; printed-form archive; anchored heads.

Also gives outbox messages their retry time and acknowledgement time. Every existing outbox message
is kept as it is (tested by upgrading a 0001 database full of messages).

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


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.String(40), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", sa.String(40), nullable=True))
    op.create_table(
        "replica_persons",
        sa.Column("person_id", sa.String(40), primary_key=True),
        sa.Column("id_type", sa.String(20), nullable=False),
        sa.Column("id_number_hash", sa.String(64), nullable=False),
        sa.Column("id_number", sa.LargeBinary, nullable=False),
        sa.Column("name", sa.LargeBinary, nullable=False),
        sa.Column("sex", sa.String(2), nullable=True),
        sa.Column("ethnicity", sa.String(2), nullable=True),
        sa.Column("birth_date", sa.LargeBinary, nullable=True),
        sa.Column("phone", sa.LargeBinary, nullable=True),
        sa.Column("address", sa.LargeBinary, nullable=True),
        sa.Column("insured_region", sa.String(6), nullable=True),
        sa.Column("household_id", sa.String(40), nullable=True),
        sa.Column("household_head", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("four_categories", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.String(40), nullable=True),
        sa.Column("synced_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_replica_persons_id_number_hash", "replica_persons", ["id_number_hash"])
    op.create_index("ix_replica_persons_household_id", "replica_persons", ["household_id"])
    op.create_table(
        "replica_cards",
        sa.Column("card_ref", sa.String(40), primary_key=True),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("card_number", sa.String(9), nullable=True),
        sa.Column("card_id", sa.String(32), nullable=True),
        sa.Column("issuing_bank", sa.String(20), nullable=True),
        sa.Column("social_status", sa.String(24), nullable=False),
        sa.Column("financial_status", sa.String(24), nullable=True),
        sa.Column("issued_on", sa.String(10), nullable=True),
        sa.Column("valid_until", sa.String(10), nullable=True),
        sa.Column("bank_account", sa.LargeBinary, nullable=True),
        sa.Column("bank_account_tail", sa.String(4), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.String(40), nullable=True),
        sa.Column("synced_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_replica_cards_person_id", "replica_cards", ["person_id"])
    op.create_index("ix_replica_cards_card_number", "replica_cards", ["card_number"])
    op.create_index("ix_replica_cards_card_id", "replica_cards", ["card_id"])
    op.create_table(
        "replica_subsidy_payments",
        sa.Column("payment_id", sa.String(40), primary_key=True),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("household_id", sa.String(40), nullable=True),
        sa.Column("category_code", sa.String(20), nullable=False),
        sa.Column("sub_item_code", sa.String(20), nullable=True),
        sa.Column("department", sa.String(60), nullable=False),
        sa.Column("period", sa.String(6), nullable=False),
        sa.Column("amount_fen", sa.Integer, nullable=False),
        sa.Column("paid_on", sa.String(10), nullable=True),
        sa.Column("paying_bank", sa.String(20), nullable=True),
        sa.Column("account_tail", sa.String(4), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("failure_reason", sa.String(60), nullable=True),
        sa.Column("batch_number", sa.String(40), nullable=True),
        sa.Column("recipient_override", sa.String(60), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.String(40), nullable=True),
        sa.Column("synced_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_payments_person_period", "replica_subsidy_payments", ["person_id", "period"])
    op.create_table(
        "sync_cursors",
        sa.Column("feed", sa.String(40), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "printed_forms",
        sa.Column(
            "acceptance_number",
            sa.String(40),
            sa.ForeignKey("transactions.acceptance_number", name="fk_printed_form_transaction"),
            primary_key=True,
        ),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.Column("archived_at", sa.String(40), nullable=False),
        sa.Column("reprint_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_reprinted_at", sa.String(40), nullable=True),
    )
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("head_seq", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("acknowledged_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "audit_anchors",
        "printed_forms",
        "sync_cursors",
        "replica_subsidy_payments",
        "replica_cards",
        "replica_persons",
    ):
        op.drop_table(table)
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("acknowledged_at")
        batch.drop_column("next_attempt_at")
