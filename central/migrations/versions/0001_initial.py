"""Initial schema: outlets, counters, operators, households, persons, cards and their history,
transactions, custody authorisations, the subsidy catalog and payments.

The one-card rule is two partial unique indexes on cards.person_id (see central/models.py).
households.head_person_id and persons.household_id refer to each other: the head's foreign key is
added after both tables exist.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 16:30:07.790156
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("head_person_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("number", name=op.f("uq_households_number")),
    )
    op.create_table(
        "outlets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("bank", sa.String(length=32), nullable=True),
        sa.Column("can_activate_social", sa.Boolean(), nullable=False),
        sa.Column("instant_issuance", sa.Boolean(), nullable=False),
        sa.CheckConstraint("type IN ('bank_outlet', 'hr_window')", name=op.f("ck_outlets_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlets")),
        sa.UniqueConstraint("code", name=op.f("uq_outlets_code")),
    )
    op.create_table(
        "subsidy_categories",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("household", sa.Boolean(), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("placeholder", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_subsidy_categories")),
    )
    op.create_table(
        "counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=4), nullable=False),
        sa.Column("receipt_key", sa.LargeBinary(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlets.id"], name=op.f("fk_counters_outlet_id_outlets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counters")),
        sa.UniqueConstraint("outlet_id", "number", name=op.f("uq_counters_outlet_id_number")),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'bank_clerk', 'bank_supervisor', 'hr_clerk', 'hr_supervisor')",
            name=op.f("ck_operators_role"),
        ),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlets.id"], name=op.f("fk_operators_outlet_id_outlets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("number", name=op.f("uq_operators_number")),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_type", sa.String(length=32), nullable=False),
        sa.Column("id_number", sa.String(length=32), nullable=False),
        sa.Column("social_security_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("ethnicity", sa.String(length=2), nullable=False),
        sa.Column("birthplace", sa.String(length=6), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("insured_region", sa.String(length=6), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("vulnerable_group", sa.String(length=24), nullable=True),
        sa.Column("deceased_on", sa.Date(), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_persons_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("id_type", "id_number", name=op.f("uq_persons_id_type_id_number")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_household_id"), ["household_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_persons_social_security_number"), ["social_security_number"], unique=False
        )

    op.create_table(
        "subsidy_items",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("category_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("household", sa.Boolean(), nullable=False),
        sa.Column("whole_category", sa.Boolean(), nullable=False),
        sa.Column("placeholder", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_number"],
            ["subsidy_categories.number"],
            name=op.f("fk_subsidy_items_category_number_subsidy_categories"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_subsidy_items")),
    )
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("card_number", sa.String(length=9), nullable=True),
        sa.Column("card_identifier", sa.String(length=32), nullable=True),
        sa.Column("spec_version", sa.String(length=4), nullable=False),
        sa.Column("issuing_region", sa.String(length=6), nullable=False),
        sa.Column("bank", sa.String(length=32), nullable=True),
        sa.Column("account_masked", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state_before_loss", sa.String(length=20), nullable=True),
        sa.Column("loss_reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("financial_status", sa.String(length=16), nullable=False),
        sa.Column("replacement_applied", sa.Boolean(), nullable=False),
        sa.Column("known_duplicate", sa.Boolean(), nullable=False),
        sa.Column("replaces_card_id", sa.Integer(), nullable=True),
        sa.Column("replace_kind", sa.String(length=16), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_outlet_id", sa.Integer(), nullable=True),
        sa.Column("production_batch", sa.String(length=32), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("issued_outlet_id", sa.Integer(), nullable=True),
        sa.Column("pin_resets", sa.Integer(), nullable=False),
        sa.Column("pin_unblocks", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "financial_status IN ('active', 'closed', 'inactive', 'lost')",
            name=op.f("ck_cards_financial_status"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'applied', 'cancelled', 'formal_loss', 'in_production', 'issued_inactive', 'ready_for_pickup', 'replaced', 'temp_loss')",
            name=op.f("ck_cards_status"),
        ),
        sa.ForeignKeyConstraint(
            ["applied_outlet_id"], ["outlets.id"], name=op.f("fk_cards_applied_outlet_id_outlets")
        ),
        sa.ForeignKeyConstraint(
            ["issued_outlet_id"], ["outlets.id"], name=op.f("fk_cards_issued_outlet_id_outlets")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_cards_person_id_persons")),
        sa.ForeignKeyConstraint(
            ["replaces_card_id"], ["cards.id"], name=op.f("fk_cards_replaces_card_id_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("card_identifier", name=op.f("uq_cards_card_identifier")),
        sa.UniqueConstraint("card_number", name=op.f("uq_cards_card_number")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cards_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_production_batch"), ["production_batch"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_cards_one_in_pipeline",
            ["person_id"],
            unique=True,
            sqlite_where=sa.text(
                "status IN ('applied', 'in_production', 'ready_for_pickup') AND NOT known_duplicate"
            ),
            postgresql_where=sa.text(
                "status IN ('applied', 'in_production', 'ready_for_pickup') AND NOT known_duplicate"
            ),
        )
        batch_op.create_index(
            "uq_cards_one_issued",
            ["person_id", "known_duplicate"],
            unique=True,
            sqlite_where=sa.text(
                "status IN ('active', 'formal_loss', 'issued_inactive', 'temp_loss') AND NOT known_duplicate"
            ),
            postgresql_where=sa.text(
                "status IN ('active', 'formal_loss', 'issued_inactive', 'temp_loss') AND NOT known_duplicate"
            ),
        )

    op.create_table(
        "subsidy_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=8), nullable=False),
        sa.Column("beneficiary_person_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("recipient_person_id", sa.Integer(), nullable=False),
        sa.Column("override_reason", sa.String(length=24), nullable=True),
        sa.Column("override_note", sa.String(length=200), nullable=True),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("period", sa.String(length=6), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("bank", sa.String(length=32), nullable=True),
        sa.Column("account_masked", sa.String(length=32), nullable=True),
        sa.Column("failure_reason", sa.String(length=20), nullable=True),
        sa.Column("batch_number", sa.String(length=32), nullable=False),
        sa.Column("resent_from_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "failure_reason IN ('account_closed', 'account_frozen', 'account_inactive', 'card_cancelled', 'card_lost', 'id_mismatch', 'name_mismatch', 'no_card', 'other')",
            name=op.f("ck_subsidy_payments_failure_reason"),
        ),
        sa.CheckConstraint(
            "override_reason IN ('head_deceased', 'head_without_card', 'other')",
            name=op.f("ck_subsidy_payments_override_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('failed', 'paid', 'pending', 'resent', 'returned')",
            name=op.f("ck_subsidy_payments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_person_id"],
            ["persons.id"],
            name=op.f("fk_subsidy_payments_beneficiary_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_subsidy_payments_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_subsidy_payments_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["item_code"], ["subsidy_items.code"], name=op.f("fk_subsidy_payments_item_code_subsidy_items")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_person_id"],
            ["persons.id"],
            name=op.f("fk_subsidy_payments_recipient_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["resent_from_id"],
            ["subsidy_payments.id"],
            name=op.f("fk_subsidy_payments_resent_from_id_subsidy_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_payments")),
    )
    with op.batch_alter_table("subsidy_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidy_payments_batch_number"), ["batch_number"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_subsidy_payments_beneficiary_person_id_period"),
            ["beneficiary_person_id", "period"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_subsidy_payments_household_id_period"), ["household_id", "period"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subsidy_payments_recipient_person_id_period"),
            ["recipient_person_id", "period"],
            unique=False,
        )

    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acceptance_number", sa.String(length=48), nullable=False),
        sa.Column("item_code", sa.String(length=24), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=True),
        sa.Column("operator_number", sa.String(length=16), nullable=False),
        sa.Column("confirmer_number", sa.String(length=16), nullable=True),
        sa.Column("requester", sa.String(length=16), nullable=False),
        sa.Column("agent_id_number", sa.String(length=32), nullable=True),
        sa.Column("agent", sa.JSON(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_transactions_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["counter_id"], ["counters.id"], name=op.f("fk_transactions_counter_id_counters")
        ),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlets.id"], name=op.f("fk_transactions_outlet_id_outlets")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_transactions_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
        sa.UniqueConstraint("acceptance_number", name=op.f("uq_transactions_acceptance_number")),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transactions_agent_id_number"), ["agent_id_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_transactions_card_id"), ["card_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transactions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "card_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("operator_number", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_card_events_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_card_events_transaction_id_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_events")),
    )
    with op.batch_alter_table("card_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_events_card_id"), ["card_id"], unique=False)

    op.create_table(
        "custody_authorisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("custodian_name", sa.String(length=100), nullable=False),
        sa.Column("custodian_id_type", sa.String(length=32), nullable=False),
        sa.Column("custodian_id_number", sa.String(length=32), nullable=False),
        sa.Column("custodian_phone", sa.String(length=20), nullable=True),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_custody_authorisations_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_custody_authorisations_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_authorisations")),
    )
    with op.batch_alter_table("custody_authorisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_authorisations_person_id"), ["person_id"], unique=False)

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_households_head_person_id_persons", "persons", ["head_person_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_constraint("fk_households_head_person_id_persons", type_="foreignkey")
    with op.batch_alter_table("custody_authorisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_authorisations_person_id"))

    op.drop_table("custody_authorisations")
    with op.batch_alter_table("card_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_events_card_id"))

    op.drop_table("card_events")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transactions_person_id"))
        batch_op.drop_index(batch_op.f("ix_transactions_card_id"))
        batch_op.drop_index(batch_op.f("ix_transactions_agent_id_number"))

    op.drop_table("transactions")
    with op.batch_alter_table("subsidy_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_payments_recipient_person_id_period"))
        batch_op.drop_index(batch_op.f("ix_subsidy_payments_household_id_period"))
        batch_op.drop_index(batch_op.f("ix_subsidy_payments_beneficiary_person_id_period"))
        batch_op.drop_index(batch_op.f("ix_subsidy_payments_batch_number"))

    op.drop_table("subsidy_payments")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_cards_one_issued",
            sqlite_where=sa.text(
                "status IN ('active', 'formal_loss', 'issued_inactive', 'temp_loss') AND NOT known_duplicate"
            ),
            postgresql_where=sa.text(
                "status IN ('active', 'formal_loss', 'issued_inactive', 'temp_loss') AND NOT known_duplicate"
            ),
        )
        batch_op.drop_index(
            "uq_cards_one_in_pipeline",
            sqlite_where=sa.text(
                "status IN ('applied', 'in_production', 'ready_for_pickup') AND NOT known_duplicate"
            ),
            postgresql_where=sa.text(
                "status IN ('applied', 'in_production', 'ready_for_pickup') AND NOT known_duplicate"
            ),
        )
        batch_op.drop_index(batch_op.f("ix_cards_status"))
        batch_op.drop_index(batch_op.f("ix_cards_production_batch"))
        batch_op.drop_index(batch_op.f("ix_cards_person_id"))

    op.drop_table("cards")
    op.drop_table("subsidy_items")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_social_security_number"))
        batch_op.drop_index(batch_op.f("ix_persons_household_id"))

    op.drop_table("persons")
    op.drop_table("operators")
    op.drop_table("counters")
    op.drop_table("subsidy_categories")
    op.drop_table("outlets")
    op.drop_table("households")
