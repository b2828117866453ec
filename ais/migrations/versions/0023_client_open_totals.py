"""running totals per client (``client_open_totals``): the unpaid part and number of the
installments of each client's open invoices, filled from the installments; late fees by the day
they were charged

The aging report counts the clients who owe something today from the partial index of the clients
with an unpaid installment instead of looking into each client's invoices, which grows with the
books (the count holds while nothing is dated after the report's day: ``ix_late_fees_charged_on``
and the payments' and invoices' date indexes tell).  The service layer keeps the table with ``due_day_totals``; `flask check` compares it with
the installments and `flask rebuild-totals` recomputes it.  The previous release does not write it:
after serving on this schema, run `rebuild-totals` (docs/DEPLOYMENT.md).

Revision ID: f68f9aeade24
Revises: a12f4d07ebd2
"""

import sqlalchemy as sa
from alembic import op

revision = "f68f9aeade24"
down_revision = "a12f4d07ebd2"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")
OWING = "unpaid_count > 0"


def upgrade():
    op.create_table(
        "client_open_totals",
        sa.Column("client_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unpaid_due", MONEY, nullable=False),
        sa.Column("unpaid_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_client_open_totals_client_id_clients")),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_open_totals")),
    )
    # The unpaid installments of issued, non-void invoices per client (books.recomputed_clients).
    op.execute(
        "INSERT INTO client_open_totals (client_id, unpaid_due, unpaid_count) "
        "SELECT invoices.client_id, SUM(installments.amount - installments.paid_amount), COUNT(*) "
        "FROM installments JOIN invoices ON invoices.id = installments.invoice_id "
        "WHERE invoices.issued_at IS NOT NULL AND invoices.voided_at IS NULL "
        "AND installments.paid_amount < installments.amount "
        "GROUP BY invoices.client_id"
    )
    op.create_index(
        "ix_client_open_totals_owing",
        "client_open_totals",
        ["client_id"],
        postgresql_where=sa.text(OWING),
        sqlite_where=sa.text(OWING),
    )
    op.create_index(op.f("ix_late_fees_charged_on"), "late_fees", ["charged_on"])


def downgrade():
    op.drop_index(op.f("ix_late_fees_charged_on"), table_name="late_fees")
    op.drop_index("ix_client_open_totals_owing", table_name="client_open_totals")
    op.drop_table("client_open_totals")
