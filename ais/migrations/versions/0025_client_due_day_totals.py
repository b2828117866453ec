"""running totals per client and due day (``client_due_day_totals``): the unpaid part and number of
the installments of each client's open invoices due each day, filled from the installments

The aging report's page buckets its clients as of today from these rows, a few dozen per client in
a partial index, instead of joining each client's open invoices to their installments (about 950
rows read for a page of 25 clients on large books).  The service layer keeps the table with
``client_open_totals``; `flask check` compares it with the installments and `flask rebuild-totals`
recomputes it.  The previous release does not write it: after serving on this schema, run
`rebuild-totals` (docs/DEPLOYMENT.md).

Revision ID: 5c3e91d0a7b4
Revises: 87f196ba6202
"""

import sqlalchemy as sa
from alembic import op

revision = "5c3e91d0a7b4"
down_revision = "87f196ba6202"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
OWING = "unpaid_count > 0"


def upgrade():
    op.create_table(
        "client_due_day_totals",
        sa.Column("client_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.Column("unpaid_due", MONEY, nullable=False),
        sa.Column("unpaid_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_client_due_day_totals_client_id_clients")),
        sa.PrimaryKeyConstraint("client_id", "due_day", name=op.f("pk_client_due_day_totals")),
    )
    # The unpaid installments of issued, non-void invoices per client and due day
    # (books.recomputed_client_due_days).
    op.execute(
        "INSERT INTO client_due_day_totals (client_id, due_day, unpaid_due, unpaid_count) "
        "SELECT invoices.client_id, installments.due_date, SUM(installments.amount - installments.paid_amount), "
        "COUNT(*) "
        "FROM installments JOIN invoices ON invoices.id = installments.invoice_id "
        "WHERE invoices.issued_at IS NOT NULL AND invoices.voided_at IS NULL "
        "AND installments.paid_amount < installments.amount "
        "GROUP BY invoices.client_id, installments.due_date"
    )
    op.create_index(
        "ix_client_due_day_totals_owing",
        "client_due_day_totals",
        ["client_id", "due_day"],
        postgresql_include=["unpaid_due"],
        postgresql_where=sa.text(OWING),
        sqlite_where=sa.text(OWING),
    )


def downgrade():
    op.drop_index("ix_client_due_day_totals_owing", table_name="client_due_day_totals")
    op.drop_table("client_due_day_totals")
