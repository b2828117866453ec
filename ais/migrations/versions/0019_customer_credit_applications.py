"""customer credits applied to invoices (credit_applications) and refunded by hand
(overpayments.applied_amount, refunded_amount, refund_method)

The new overpayment columns are server-defaulted (0, NULL), so the previous release keeps running
on this schema (it never applies or refunds a credit this way).

Revision ID: 7c2e9a4d1b63
Revises: 8d2f4c6a1b37
"""

import sqlalchemy as sa
from alembic import op

revision = "7c2e9a4d1b63"
down_revision = "8d2f4c6a1b37"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
USED_WITHIN_AMOUNT = "applied_amount >= 0 and refunded_amount >= 0 and applied_amount + refunded_amount <= amount"


def upgrade():
    # Plain ALTER TABLE on SQLite too (a batch operation would rebuild the table); the check
    # constraint is added where the database can add one to an existing table (PostgreSQL), and
    # `flask check` verifies the same rule everywhere.
    op.add_column("overpayments", sa.Column("applied_amount", MONEY, nullable=False, server_default=sa.text("0")))
    op.add_column("overpayments", sa.Column("refunded_amount", MONEY, nullable=False, server_default=sa.text("0")))
    op.add_column("overpayments", sa.Column("refund_method", sa.String(40), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint("ck_overpayments_used_within_amount", "overpayments", USED_WITHIN_AMOUNT)
    op.create_table(
        "credit_applications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "overpayment_id",
            sa.Integer(),
            sa.ForeignKey("overpayments.id", name="fk_credit_applications_overpayment_id_overpayments"),
            nullable=False,
        ),
        sa.Column(
            "payment_id",
            sa.Integer(),
            sa.ForeignKey("payments.id", name="fk_credit_applications_payment_id_payments"),
            nullable=False,
        ),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "actor_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_credit_applications_actor_id_users"),
            nullable=True,
        ),
        sa.CheckConstraint("amount > 0", name="ck_credit_applications_amount_positive"),
        sa.UniqueConstraint("payment_id", name="uq_credit_applications_payment_id"),
    )
    op.create_index("ix_credit_applications_overpayment_id", "credit_applications", ["overpayment_id"])


def downgrade():
    op.drop_table("credit_applications")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_overpayments_used_within_amount", "overpayments", type_="check")
    op.drop_column("overpayments", "refund_method")
    op.drop_column("overpayments", "refunded_amount")
    op.drop_column("overpayments", "applied_amount")
