"""running open balances per due day (``due_day_balances``): what was open at the end of each day of
the installments due on each day, filled from the installments, late fees and allocations, and the
list of their due days (``balance_due_days``)

The aging report as of a past day reads, for each due day, the last row on or before that day
instead of correcting today's unpaid amounts by every payment, invoice and late fee dated after it
(which grows with the activity since).  An installment opens on the day it is billed (its invoice's
issue date, a late fee's installment on the day the fee was charged if later); an allocation of a
confirmed payment takes it off on the payment's date (or the billing day, if later).  The service
layer keeps the table with ``client_open_totals``; `flask check` compares it with the rows and
`flask rebuild-totals` recomputes it.  The previous release does not write it: after serving on this
schema, run `rebuild-totals` (docs/DEPLOYMENT.md).

Revision ID: 87f196ba6202
Revises: f68f9aeade24
"""

import sqlalchemy as sa
from alembic import op

revision = "87f196ba6202"
down_revision = "f68f9aeade24"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")


def upgrade():
    op.create_table(
        "due_day_balances",
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("open", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("due_day", "day", name=op.f("pk_due_day_balances")),
    )
    # What each installment opened on its billing day, less what each allocation of a confirmed
    # payment took off on its day, summed per (due day, day), then accumulated per due day in day
    # order (a window sum): books.recomputed_due_day_balances.
    # ``billed``: installments of issued, non-void invoices with the day each is billed (CASE, not
    # GREATEST: SQLite has none; a NULL charged_on, no late fee, compares unknown and gives the
    # issue date).  One literal statement (a CTE), so no SQL is assembled from strings.
    op.execute(
        "WITH billed AS ("
        "SELECT installments.id, installments.due_date, installments.amount, "
        "CASE WHEN fees.charged_on > invoices.issue_date THEN fees.charged_on ELSE invoices.issue_date END AS billed_on "
        "FROM installments JOIN invoices ON invoices.id = installments.invoice_id "
        "LEFT JOIN (SELECT fee_installment_id, MAX(charged_on) AS charged_on FROM late_fees "
        "WHERE fee_installment_id IS NOT NULL GROUP BY fee_installment_id) AS fees "
        "ON fees.fee_installment_id = installments.id "
        "WHERE invoices.issued_at IS NOT NULL AND invoices.voided_at IS NULL) "
        "INSERT INTO due_day_balances (due_day, day, open) "
        "SELECT due_day, day, SUM(SUM(change)) OVER (PARTITION BY due_day ORDER BY day) FROM ("
        "SELECT billed.due_date AS due_day, billed.billed_on AS day, billed.amount AS change FROM billed "
        "UNION ALL "
        "SELECT billed.due_date, "
        "CASE WHEN payments.date > billed.billed_on THEN payments.date ELSE billed.billed_on END, -allocations.amount "
        "FROM allocations JOIN payments ON payments.id = allocations.payment_id "
        "JOIN billed ON billed.id = allocations.installment_id "
        "WHERE payments.state = 'confirmed'"
        ") AS changes GROUP BY due_day, day"
    )
    # The due days with a balance, listed for the aging report (models.BalanceDueDay).
    op.create_table(
        "balance_due_days",
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("due_day", name=op.f("pk_balance_due_days")),
    )
    op.execute("INSERT INTO balance_due_days (due_day) SELECT DISTINCT due_day FROM due_day_balances")


def downgrade():
    op.drop_table("balance_due_days")
    op.drop_table("due_day_balances")
