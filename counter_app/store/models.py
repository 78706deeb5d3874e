"""Tables of the local store (本地数据库表), as the head migration leaves them.

Times are ISO 8601 text with their UTC offset (the audit chain hashes exactly that text); sensitive
values are ``LargeBinary`` blobs from `counter_app.store.crypto.FieldCipher`, searched through a
keyed-hash column next to them. The migrations in ``migrations/versions`` build these tables; a test
compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

OUTBOX_STATUSES = ("pending", "sent", "acknowledged", "rejected", "needs_reconciliation")

store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("acceptance_number", sa.String(40), nullable=False, unique=True),
    sa.Column("item_code", sa.String(40), nullable=False),
    sa.Column("operator_number", sa.String(20), nullable=False),
    sa.Column("outlet_code", sa.String(20), nullable=False),
    sa.Column("counter_number", sa.String(10), nullable=False),
    sa.Column("occurred_at", sa.String(40), nullable=False),
    sa.Column("holder_ref", sa.String(80), nullable=False, index=True),
    sa.Column("result", sa.String(40), nullable=False),
    sa.Column("details", sa.LargeBinary, nullable=False),
    sa.Column("server_command", sa.String(40), nullable=True),
    sa.Column("server_payload", sa.LargeBinary, nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
)

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("entry_id", sa.String(36), nullable=False, unique=True),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("acceptance_number", sa.String(40), nullable=True, index=True),
    sa.Column("item_code", sa.String(40), nullable=False),
    sa.Column("operator_number", sa.String(20), nullable=False),
    sa.Column("outlet_code", sa.String(20), nullable=False),
    sa.Column("counter_number", sa.String(10), nullable=False),
    sa.Column("occurred_at", sa.String(40), nullable=False),
    sa.Column("holder_ref", sa.String(80), nullable=False),
    sa.Column("result", sa.String(40), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False, index=True),
)

outbox_messages = sa.Table(
    "outbox_messages",
    metadata,
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
    sa.Column("next_attempt_at", sa.String(40), nullable=True),  # 0002
    sa.Column("acknowledged_at", sa.String(40), nullable=True),  # 0002
    sa.CheckConstraint(
        "status IN ({})".format(", ".join(f"'{status}'" for status in OUTBOX_STATUSES)),
        name="ck_outbox_status",
    ),
    sa.Index("ix_outbox_status_seq", "status", "seq"),
)

acceptance_sequences = sa.Table(
    "acceptance_sequences",
    metadata,
    sa.Column("outlet_code", sa.String(20), primary_key=True),
    sa.Column("counter_number", sa.String(10), primary_key=True),
    sa.Column("day", sa.String(8), primary_key=True),
    sa.Column("last_value", sa.Integer, nullable=False),
)

flow_checkpoints = sa.Table(
    "flow_checkpoints",
    metadata,
    sa.Column("flow_id", sa.String(80), primary_key=True),
    sa.Column("state", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

# ---- 0002: replica of the central server's records, sync cursors, archive, anchored heads

replica_persons = sa.Table(
    "replica_persons",
    metadata,
    sa.Column("person_id", sa.String(40), primary_key=True),
    sa.Column("id_type", sa.String(20), nullable=False),
    sa.Column("id_number_hash", sa.String(64), nullable=False, index=True),
    sa.Column("id_number", sa.LargeBinary, nullable=False),
    sa.Column("name", sa.LargeBinary, nullable=False),
    sa.Column("sex", sa.String(2), nullable=True),
    sa.Column("ethnicity", sa.String(2), nullable=True),
    sa.Column("birth_date", sa.LargeBinary, nullable=True),
    sa.Column("phone", sa.LargeBinary, nullable=True),
    sa.Column("address", sa.LargeBinary, nullable=True),
    sa.Column("insured_region", sa.String(6), nullable=True),
    sa.Column("household_id", sa.String(40), nullable=True, index=True),
    sa.Column("household_head", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("four_categories", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.String(40), nullable=True),
    sa.Column("synced_at", sa.String(40), nullable=False),
)

replica_cards = sa.Table(
    "replica_cards",
    metadata,
    sa.Column("card_ref", sa.String(40), primary_key=True),
    sa.Column("person_id", sa.String(40), nullable=False, index=True),
    sa.Column("card_number", sa.String(9), nullable=True, index=True),
    sa.Column("card_id", sa.String(32), nullable=True, index=True),
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

replica_subsidy_payments = sa.Table(
    "replica_subsidy_payments",
    metadata,
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
    sa.Index("ix_payments_person_period", "person_id", "period"),
)

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("feed", sa.String(40), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

printed_forms = sa.Table(
    "printed_forms",
    metadata,
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

audit_anchors = sa.Table(
    "audit_anchors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("head_seq", sa.Integer, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("acknowledged_at", sa.String(40), nullable=False),
)
