"""confirmed payments per payment day in due_day_totals (``collected``), filled from the payments

The forecast's weeks read them instead of summing the payments of five weeks, which grows with the
business.  Server-defaulted to 0, so the previous release keeps running on this schema; `flask
check` compares the column with the payments.

Revision ID: 5a6a3d8afd95
Revises: 7c2e9a4d1b63
"""

import sqlalchemy as sa
from alembic import op

revision = "5a6a3d8afd95"
down_revision = "7c2e9a4d1b63"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")


def upgrade():
    op.add_column("due_day_totals", sa.Column("collected", MONEY, nullable=False, server_default=sa.text("0")))
    # Confirmed payments of issued invoices by payment date (what monthly_totals.collected sums by
    # month); a day with no installment due gets its row here.
    op.execute(
        "INSERT INTO due_day_totals (day, unpaid_due, unpaid_count, collected) "
        "SELECT payments.date, 0, 0, SUM(payments.amount) "
        "FROM payments JOIN invoices ON invoices.id = payments.invoice_id "
        "WHERE payments.state = 'confirmed' AND invoices.issued_at IS NOT NULL "
        "GROUP BY payments.date "
        "ON CONFLICT (day) DO UPDATE SET collected = excluded.collected"
    )


def downgrade():
    op.execute("DELETE FROM due_day_totals WHERE unpaid_due = 0 AND unpaid_count = 0")
    with op.batch_alter_table("due_day_totals", schema=None) as batch_op:
        batch_op.drop_column("collected")
