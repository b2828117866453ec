"""what each client's installments opened and what payments took off them, per day and due day
(``client_open_changes``), and the number of clients owing at the end of each day
(``owing_client_counts``), filled from the installments, late fees and allocations

The aging report as of a past day buckets its page of clients from their unpaid amounts today less
their changes dated after the day (a range of the new table's primary key per client) instead of
reading every payment of theirs dated after it and the installments those paid, and counts its
clients with one probe of ``owing_client_counts`` instead of looking into every client's invoices.
The changes are ``due_day_balances``' per client (0024); a client owes at the end of a day when
their changes through it add up to more than zero.  The service layer keeps both tables with
``due_day_balances``; `flask check` compares them with the rows and `flask rebuild-totals`
recomputes them.  The previous release does not write them: after serving on this schema, run
`rebuild-totals` (docs/DEPLOYMENT.md).

Revision ID: 5c2a9e7d3b14
Revises: 4e1d7c9a2f58
"""

import sqlalchemy as sa
from alembic import op

revision = "5c2a9e7d3b14"
down_revision = "4e1d7c9a2f58"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2).with_variant(sa.BigInteger(), "sqlite")


def upgrade():
    op.create_table(
        "client_open_changes",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.Column("change", MONEY, nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_client_open_changes_client_id_clients")),
        sa.PrimaryKeyConstraint(
            "client_id", "day", "due_day", name=op.f("pk_client_open_changes"), postgresql_include=["change"]
        ),
    )
    # As 0024's fill, per client: what each installment of an issued, non-void invoice opened on
    # its billing day (the issue date, or its late fee's day if later; CASE, not GREATEST: SQLite
    # has none), less what each allocation of a confirmed payment took off on its day.
    op.execute(
        "WITH billed AS ("
        "SELECT installments.id, invoices.client_id, installments.due_date, installments.amount, "
        "CASE WHEN fees.charged_on > invoices.issue_date THEN fees.charged_on ELSE invoices.issue_date END AS billed_on "
        "FROM installments JOIN invoices ON invoices.id = installments.invoice_id "
        "LEFT JOIN (SELECT fee_installment_id, MAX(charged_on) AS charged_on FROM late_fees "
        "WHERE fee_installment_id IS NOT NULL GROUP BY fee_installment_id) AS fees "
        "ON fees.fee_installment_id = installments.id "
        "WHERE invoices.issued_at IS NOT NULL AND invoices.voided_at IS NULL) "
        "INSERT INTO client_open_changes (client_id, day, due_day, change) "
        "SELECT client_id, day, due_day, SUM(change) FROM ("
        "SELECT billed.client_id, billed.billed_on AS day, billed.due_date AS due_day, billed.amount AS change "
        "FROM billed "
        "UNION ALL "
        "SELECT billed.client_id, "
        "CASE WHEN payments.date > billed.billed_on THEN payments.date ELSE billed.billed_on END, "
        "billed.due_date, -allocations.amount "
        "FROM allocations JOIN payments ON payments.id = allocations.payment_id "
        "JOIN billed ON billed.id = allocations.installment_id "
        "WHERE payments.state = 'confirmed'"
        ") AS changes GROUP BY client_id, day, due_day HAVING SUM(change) <> 0"
    )
    op.create_table(
        "owing_client_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("owing", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_owing_client_counts")),
    )
    # Each client's open amount at the end of each day with a change (a window sum), whether they
    # owe then, the days on which that begins (+1) or ends (-1), summed per day and accumulated:
    # books.owing_counts.
    op.execute(
        "INSERT INTO owing_client_counts (day, owing) "
        "SELECT day, SUM(SUM(started)) OVER (ORDER BY day) FROM ("
        "SELECT day, owes - COALESCE(LAG(owes) OVER (PARTITION BY client_id ORDER BY day), 0) AS started FROM ("
        "SELECT client_id, day, "
        "CASE WHEN SUM(SUM(change)) OVER (PARTITION BY client_id ORDER BY day) > 0 THEN 1 ELSE 0 END AS owes "
        "FROM client_open_changes GROUP BY client_id, day"
        ") AS balances"
        ") AS starts GROUP BY day HAVING SUM(started) <> 0"
    )


def downgrade():
    op.drop_table("owing_client_counts")
    op.drop_table("client_open_changes")
