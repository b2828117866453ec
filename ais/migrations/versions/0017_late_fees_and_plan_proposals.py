"""late fees (a row per charged installment, the invoice's running total of fees) and clients'
proposals of a new plan

``invoices.late_fee_amount`` is server-defaulted to 0, so the previous release keeps running on
this schema (it never charges fees).

Revision ID: 3f6d1a8c2e57
Revises: 3b8e5d1c9f42
"""

import sqlalchemy as sa
from alembic import op

revision = "3f6d1a8c2e57"
down_revision = "3b8e5d1c9f42"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")


def upgrade():
    # Plain ALTER TABLE on SQLite too: a batch operation would rebuild invoices (and cascade deletes).
    op.add_column("invoices", sa.Column("late_fee_amount", MONEY, nullable=False, server_default=sa.text("0")))
    op.create_table(
        "late_fees",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "invoice_id",
            sa.Integer(),
            sa.ForeignKey("invoices.id", name="fk_late_fees_invoice_id_invoices"),
            nullable=False,
        ),
        sa.Column(
            "client_id",
            sa.Integer(),
            sa.ForeignKey("clients.id", name="fk_late_fees_client_id_clients"),
            nullable=False,
        ),
        sa.Column(
            "installment_id",
            sa.Integer(),
            sa.ForeignKey("installments.id", name="fk_late_fees_installment_id_installments", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("installment_number", sa.Integer(), nullable=False),
        sa.Column(
            "fee_installment_id",
            sa.Integer(),
            sa.ForeignKey("installments.id", name="fk_late_fees_fee_installment_id_installments", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("charged_on", sa.Date(), nullable=False),
        sa.Column("base", MONEY, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("rule", sa.String(120), nullable=False),
        sa.Column("waived_on", sa.Date(), nullable=True),
        sa.Column(
            "waived_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_late_fees_waived_by_id_users"),
            nullable=True,
        ),
        sa.Column("waive_reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_late_fees_amount_positive"),
        sa.CheckConstraint("base > 0", name="ck_late_fees_base_positive"),
        sa.UniqueConstraint("installment_id", name="uq_late_fees_installment"),
    )
    op.create_index("ix_late_fees_invoice_id", "late_fees", ["invoice_id"])
    op.create_index("ix_late_fees_client_id", "late_fees", ["client_id"])
    op.create_index("ix_late_fees_fee_installment_id", "late_fees", ["fee_installment_id"])
    op.create_table(
        "plan_proposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "invoice_id",
            sa.Integer(),
            sa.ForeignKey("invoices.id", name="fk_plan_proposals_invoice_id_invoices"),
            nullable=False,
        ),
        sa.Column(
            "client_id",
            sa.Integer(),
            sa.ForeignKey("clients.id", name="fk_plan_proposals_client_id_clients"),
            nullable=False,
        ),
        sa.Column("installment_count", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("first_due_date", sa.Date(), nullable=False),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_plan_proposals_created_by_id_users"),
            nullable=True,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "decided_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_plan_proposals_decided_by_id_users"),
            nullable=True,
        ),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.CheckConstraint("installment_count >= 1", name="ck_plan_proposals_installment_count_positive"),
        sa.CheckConstraint(
            "status in ('pending', 'approved', 'declined', 'lapsed')", name="ck_plan_proposals_status_known"
        ),
    )
    op.create_index("ix_plan_proposals_invoice_id", "plan_proposals", ["invoice_id"])
    op.create_index("ix_plan_proposals_client_id", "plan_proposals", ["client_id"])
    op.create_index("ix_plan_proposals_status_id", "plan_proposals", ["status", "id"])
    op.create_index(
        "uq_plan_proposals_pending_invoice",
        "plan_proposals",
        ["invoice_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade():
    op.drop_table("plan_proposals")
    op.drop_table("late_fees")
    op.drop_column("invoices", "late_fee_amount")
