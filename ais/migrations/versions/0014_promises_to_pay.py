"""promises to pay: the owner notes that a client promised an amount by a date

Revision ID: 3f6b2d8e1a94
Revises: 5d3b8e1f0a27
"""

import sqlalchemy as sa
from alembic import op

# Money: NUMERIC(14, 2) on PostgreSQL, whole centavos on SQLite (ais.db_types.ExactDecimal).
MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")

revision = "3f6b2d8e1a94"
down_revision = "5d3b8e1f0a27"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("promised_by", sa.Date(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_promises_amount_positive")),
        sa.CheckConstraint("promised_by >= recorded_on", name=op.f("ck_payment_promises_promised_after_recorded")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_payment_promises_client_id_clients")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_payment_promises_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["cancelled_by_id"], ["users.id"], name=op.f("fk_payment_promises_cancelled_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_promises")),
    )
    op.create_index(
        "ix_payment_promises_client_recorded", "payment_promises", ["client_id", "recorded_on", "id"], unique=False
    )


def downgrade():
    op.drop_index("ix_payment_promises_client_recorded", table_name="payment_promises")
    op.drop_table("payment_promises")
